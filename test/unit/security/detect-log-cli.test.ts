import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { runDetectLog } from '../../../cli/commands/detect-log.ts';

const fixture = (path: string) => fileURLToPath(new URL(`../../fixtures/security/${path}`, import.meta.url));

async function run(options: Parameters<typeof runDetectLog>[0]) {
  let out = '';
  let err = '';
  const code = await runDetectLog(
    options,
    { write: (t: string) => (out += t) },
    { write: (t: string) => (err += t) },
  );
  return { code, out, err };
}

const KEYS = ['rule', 'severity', 'time', 'subject', 'count', 'technique', 'explanation'];

describe('vigil detect-log', () => {
  it('writes exactly one contract object per line, in time order, for an auth log', async () => {
    const { code, out, err } = await run({ kind: 'auth', file: fixture('auth/bruteforce-then-success.log') });
    expect(code).toBe(0);
    const records = out
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.length).toBeGreaterThan(0);
    for (const r of records) {
      expect(Object.keys(r)).toEqual(KEYS);
      expect(typeof r['count']).toBe('number');
      expect(new Date(r['time'] as string).toISOString()).toBe(r['time']);
    }
    const times = records.map((r) => Date.parse(r['time'] as string));
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(records).toContainEqual(
      expect.objectContaining({
        rule: 'ssh-bruteforce-success',
        severity: 'critical',
        subject: '203.0.113.45',
      }),
    );
    expect(err).toMatch(/detect-log: 13 lines/);
  });

  it('runs the audit rules over an audit log', async () => {
    const { code, out } = await run({ kind: 'audit', file: fixture('audit/attach-exec-pod.jsonl') });
    expect(code).toBe(0);
    const rules = out
      .trimEnd()
      .split('\n')
      .map((l) => (JSON.parse(l) as { rule: string; subject: string }).rule);
    expect(rules).toEqual(['attach-exec-pod', 'attach-exec-pod']);
  });

  it('assumes the current year for year-less timestamps unless that is in the future', async () => {
    const { out } = await run({
      kind: 'auth',
      file: fixture('auth/slow-guesser.log'),
      now: '2027-01-15T00:00:00Z',
    });
    const first = JSON.parse(out.split('\n')[0]!) as { time: string };
    expect(first.time.startsWith('2026-03-02')).toBe(true);
  });

  it('reports rejected user rules on stderr and keeps stdout clean', async () => {
    const { code, out, err } = await run({
      kind: 'auth',
      file: fixture('auth/bruteforce-then-success.log'),
      rules: [fixture('auth/bad-rules.yaml')],
    });
    expect(code).toBe(0);
    expect(err).toMatch(/rule rejected: .*bad-rules\.yaml: rule 'no-technique': technique/);
    for (const line of out.trimEnd().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
    expect(out).toContain('"rule":"user-accepted-deploy"');
  });

  it('fails with exit code 2 and nothing on stdout for bad arguments', async () => {
    for (const options of [
      { kind: 'syslog', file: fixture('auth/slow-guesser.log') },
      { kind: 'auth', file: fixture('auth/does-not-exist.log') },
      { kind: 'audit', file: fixture('auth/slow-guesser.log'), learn: 'soon' },
    ]) {
      const { code, out, err } = await run(options);
      expect(code).toBe(2);
      expect(out).toBe('');
      expect(err).toMatch(/detect-log:/);
    }
  });
});
