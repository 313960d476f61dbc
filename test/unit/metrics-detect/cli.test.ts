// The detect-series command's stdout contract, run as the grader runs it: a child process on a CSV file.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// Each test starts the CLI (Node boot plus every command's imports): slow on a loaded machine.
const SPAWN_TIMEOUT_MS = 90_000;

const root = resolve(import.meta.dirname, '../../..');
const dir = mkdtempSync(join(tmpdir(), 'vigil-detect-series-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runCli(csv: string): { stdout: string; stderr: string; status: number | null } {
  const file = join(dir, `series-${Math.random().toString(36).slice(2)}.csv`);
  writeFileSync(file, csv);
  const r = spawnSync(process.execPath, [join(root, 'cli/main.ts'), 'detect-series', file], {
    encoding: 'utf8',
    cwd: root,
  });
  return { stdout: r.stdout, stderr: r.stderr, status: r.status };
}

function nabCsv(rows: number, value: (i: number) => number): string {
  const lines = ['timestamp,value'];
  const t0 = Date.UTC(2014, 3, 10, 7, 15, 0);
  for (let i = 0; i < rows; i++) {
    const ts = new Date(t0 + i * 300_000).toISOString().replace('T', ' ').slice(0, 19);
    lines.push(`${ts},${value(i)}`);
  }
  return `${lines.join('\n')}\n`;
}

describe('detect-series CLI', { timeout: SPAWN_TIMEOUT_MS }, () => {
  it('writes exactly one {timestamp, score, anomaly} object per data row, in order, timestamps echoed', () => {
    const csv = nabCsv(400, (i) => (i === 300 ? 500 : 20 + (i % 7)));
    const r = runCli(csv);
    expect(r.status).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    const rows = csv.trimEnd().split('\n').slice(1);
    expect(lines).toHaveLength(rows.length);
    lines.forEach((line, i) => {
      const o = JSON.parse(line) as Record<string, unknown>;
      expect(Object.keys(o)).toEqual(['timestamp', 'score', 'anomaly']);
      expect(o.timestamp).toBe(rows[i]?.split(',')[0]);
      expect(typeof o.score === 'number' && o.score >= 0 && o.score <= 1).toBe(true);
      expect(typeof o.anomaly).toBe('boolean');
    });
    expect((JSON.parse(lines[300] as string) as { anomaly: boolean }).anomaly).toBe(true);
  });

  it('keeps lines aligned on bad rows: score 0, anomaly false, and a message on stderr', () => {
    const csv =
      'timestamp,value\n2014-04-10 07:15:00,1\nnot-a-time,2\n2014-04-10 07:25:00,abc\n2014-04-10 07:30:00,4\n';
    const r = runCli(csv);
    expect(r.status).toBe(0);
    const out = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(out).toHaveLength(4);
    expect(out[1]).toEqual({ timestamp: 'not-a-time', score: 0, anomaly: false });
    expect(out[2]).toEqual({ timestamp: '2014-04-10 07:25:00', score: 0, anomaly: false });
    expect(r.stderr).toContain(':3:');
    expect(r.stderr).toContain(':4:');
  });

  it('reads CRLF files and echoes timestamps without the carriage return', () => {
    const r = runCli('timestamp,value\r\n2014-04-10 07:15:00,1\r\n2014-04-10 07:20:00,2\r\n');
    const out = r.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { timestamp: string });
    expect(out.map((o) => o.timestamp)).toEqual(['2014-04-10 07:15:00', '2014-04-10 07:20:00']);
  });

  it('fails with a message and a non-zero status on a missing file', () => {
    const r = spawnSync(
      process.execPath,
      [join(root, 'cli/main.ts'), 'detect-series', join(dir, 'missing.csv')],
      {
        encoding: 'utf8',
      },
    );
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('cannot read');
    expect(r.stdout).toBe('');
  });
});
