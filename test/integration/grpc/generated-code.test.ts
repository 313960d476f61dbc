import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = join(dir, name);
    return statSync(full).isDirectory() ? files(full) : [full];
  });
}

describe('generated protobuf code', () => {
  it('is what buf generate makes from the committed .proto files', () => {
    const out = mkdtempSync(join(tmpdir(), 'vigil-gen-'));
    try {
      const template = readFileSync('buf.gen.yaml', 'utf8').replace('out: proto/gen', `out: ${out}`);
      const templatePath = join(out, 'buf.gen.yaml');
      writeFileSync(templatePath, template);
      execFileSync('npx', ['buf', 'generate', '--template', templatePath], { stdio: 'pipe' });
      const fresh = files(out).filter((f) => f !== templatePath);
      const committed = files('proto/gen');
      expect(committed.map((f) => relative('proto/gen', f)).sort()).toEqual(
        fresh.map((f) => relative(out, f)).sort(),
      );
      for (const f of fresh) {
        const rel = relative(out, f);
        expect(
          readFileSync(join('proto/gen', rel), 'utf8'),
          `proto/gen/${rel} is stale: run npm run gen`,
        ).toBe(readFileSync(f, 'utf8'));
      }
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
