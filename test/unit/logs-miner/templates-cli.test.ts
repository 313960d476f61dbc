import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileTemplates } from '../../../cli/commands/templates.ts';

const ROOT = new URL('../../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'vigil-templates-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

interface Row {
  templateId: string;
  template: string;
}

class Collect {
  text = '';
  write(chunk: string): boolean {
    this.text += chunk;
    return true;
  }
  once(): this {
    return this;
  }
  rows(): Row[] {
    return this.text
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Row);
  }
}

describe('vigil templates FILE', () => {
  it('prints exactly one JSON object per input line, in order, and nothing else on stdout', () => {
    const path = file(
      'basic.log',
      ['connect to 10.0.0.1 port 80 ok', 'connect to 10.0.0.2 port 443 ok', 'shutting down now'].join('\n'),
    );
    const res = spawnSync(process.execPath, [join(ROOT, 'cli/main.ts'), 'templates', path], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(res.status).toBe(0);
    const lines = res.stdout.split('\n');
    expect(lines.at(-1)).toBe('');
    const rows = lines.slice(0, -1).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows).toHaveLength(3);
    for (const r of rows) expect(Object.keys(r).sort()).toEqual(['template', 'templateId']);
    expect(rows[0]).toEqual(rows[1]);
    expect(rows[0]?.['template']).toBe('connect to <*> port <*> ok');
    expect(rows[2]?.['templateId']).not.toBe(rows[0]?.['templateId']);
  });

  it('prints the final template text for early lines', async () => {
    const out = new Collect();
    await writeFileTemplates(file('final.log', 'session for alice opened\nsession for bob opened\n'), out);
    const rows = out.rows();
    expect(rows[0]).toEqual(rows[1]);
    expect(rows[0]?.template).toBe('session for <*> opened');
  });

  it('keeps empty lines, CRLF endings, invalid UTF-8 and a last line without newline', async () => {
    const bytes = Buffer.concat([
      Buffer.from('first line 1\r\n\r\n'),
      Buffer.from([0xff, 0xfe, 0x20, 0x62, 0x61, 0x64, 0x0a]),
      Buffer.from('last line 2'),
    ]);
    const out = new Collect();
    await writeFileTemplates(file('odd.log', bytes), out);
    const rows = out.rows();
    expect(rows).toHaveLength(4);
    expect(rows[0]?.template).toBe('first line <*>');
    expect(rows[1]?.template).toBe('');
    expect(rows[2]?.template).toContain('\uFFFD');
    expect(rows[3]?.template).toBe('last line <*>');
  });

  it('handles an empty file and a very long line', async () => {
    const empty = new Collect();
    await writeFileTemplates(file('empty.log', ''), empty);
    expect(empty.text).toBe('');
    const long = new Collect();
    await writeFileTemplates(file('long.log', `${'a'.repeat(5_000_000)}\nshort 1\n`), long);
    expect(long.rows()).toHaveLength(2);
  });

  it('handles more lines than one read chunk', async () => {
    const n = 200_000;
    const body = Array.from({ length: n }, (_, i) => `request ${i} served in ${i % 97} ms`).join('\n');
    const out = new Collect();
    await writeFileTemplates(file('many.log', body), out);
    const rows = out.rows();
    expect(rows).toHaveLength(n);
    expect(new Set(rows.map((r) => r.templateId)).size).toBe(1);
  });

  it('fails with a non-zero exit code and no stdout for a missing file', () => {
    const res = spawnSync(process.execPath, [join(ROOT, 'cli/main.ts'), 'templates', join(dir, 'nope.log')], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(res.status).not.toBe(0);
    expect(res.stdout).toBe('');
  });
});
