import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadRuleSet, SHIPPED_RULES_DIR } from '../../../agent/detect/security/rule-loader.ts';
import { formatRuleLoadError } from '../../../agent/detect/security/rule-types.ts';
import { mergeWithPrevious, watchRules } from '../../../agent/detect/security/rule-watch.ts';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-rules-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const GOOD = `
source: auth
rules:
  - id: good-one
    title: Good one
    severity: warning
    technique: T1110
    condition: { field: action, equals: accepted }
`;

describe('shipped rules', () => {
  it('all load without errors', () => {
    const set = loadRuleSet([SHIPPED_RULES_DIR]);
    expect(set.errors).toEqual([]);
    expect(set.rules.filter((r) => r.source === 'auth').length).toBeGreaterThanOrEqual(5);
    expect(set.rules.filter((r) => r.source === 'k8s_audit').length).toBeGreaterThanOrEqual(20);
    expect(set.rules.filter((r) => r.source === 'runtime').length).toBeGreaterThanOrEqual(8);
    for (const rule of set.rules) expect(rule.technique).toMatch(/^T\d{4}/);
  });
});

describe('rule file errors', () => {
  it('rejects a malformed rule with file, id and reason while the good rules still load', () => {
    const file = join(dir, 'user.yaml');
    writeFileSync(
      file,
      `${GOOD}
  - id: bad-threshold
    title: Bad threshold
    severity: warning
    technique: T1110
    condition: { field: action, equals: failed_password }
    threshold: { count: 0, within: 10m, groupBy: source }
  - id: bad-severity
    title: Bad severity
    severity: loud
    technique: T1110
    condition: { field: action, equals: x }
  - id: bad-operator
    title: Bad operator
    severity: info
    technique: T1110
    condition: { all: [{ field: action, equal: x }] }
  - id: bad-technique
    title: Bad technique
    severity: info
    technique: brute-force
    condition: { field: action, equals: x }
  - title: no id at all
`,
    );
    const set = loadRuleSet([file]);
    expect(set.rules.map((r) => r.id)).toEqual(['good-one']);
    const byId = new Map(set.errors.map((e) => [e.ruleId, e]));
    expect(byId.get('bad-threshold')?.reason).toMatch(/threshold\.count/);
    expect(byId.get('bad-severity')?.reason).toMatch(/severity/);
    expect(byId.get('bad-operator')?.reason).toMatch(/condition\.all\[0\]: unknown operator 'equal'/);
    expect(byId.get('bad-technique')?.reason).toMatch(/technique: must be a MITRE ATT&CK id/);
    expect(byId.get('#6')?.reason).toMatch(/id/);
    for (const e of set.errors) expect(e.file).toBe(file);
    expect(formatRuleLoadError(set.errors[0]!)).toMatch(/user\.yaml: rule 'bad-threshold': threshold\.count/);
  });

  it('rejects an unparsable file and a file that is not a rule file, and keeps loading the others', () => {
    writeFileSync(join(dir, 'a-broken.yaml'), 'source: auth\nrules: [ {id: x\n');
    writeFileSync(join(dir, 'b-wrong.yaml'), 'source: netflow\nrules: []\n');
    writeFileSync(join(dir, 'c-good.yaml'), GOOD);
    const set = loadRuleSet([dir]);
    expect(set.rules.map((r) => r.id)).toEqual(['good-one']);
    expect(set.errors).toHaveLength(2);
    expect(set.errors[0]).toMatchObject({
      file: join(dir, 'a-broken.yaml'),
      reason: expect.stringMatching(/not valid YAML/),
    });
    expect(set.errors[1]).toMatchObject({
      file: join(dir, 'b-wrong.yaml'),
      reason: expect.stringMatching(/source/),
    });
  });

  it('reports a missing path as an error instead of throwing', () => {
    const set = loadRuleSet([join(dir, 'nope.yaml')]);
    expect(set.errors[0]?.reason).toMatch(/cannot read/);
  });
});

describe('user rule files', () => {
  it('override shipped lists, replace rules by id and switch rules off', () => {
    writeFileSync(
      join(dir, 'site.yaml'),
      `source: k8s_audit
lists:
  allowed_k8s_nodes: [node-1, node-2]
rules:
  - { id: ingress-without-tls, enabled: false }
`,
    );
    const set = loadRuleSet([SHIPPED_RULES_DIR, dir]);
    expect(set.errors).toEqual([]);
    expect(set.rules.some((r) => r.id === 'ingress-without-tls')).toBe(false);
    const joined = set.rules.find((r) => r.id === 'untrusted-node-joined')!;
    const event = (name: string) => ({
      stage: 'ResponseComplete',
      verb: 'create',
      objectRef: { resource: 'nodes', name },
      derived: { responseOk: true },
    });
    expect(joined.match(event('node-1'))).toBe(false);
    expect(joined.match(event('rogue-1'))).toBe(true);
  });
});

describe('hot reload', () => {
  it('keeps the previous good version of a rule that breaks', () => {
    const file = join(dir, 'r.yaml');
    writeFileSync(file, GOOD);
    const first = loadRuleSet([file]);
    writeFileSync(file, GOOD.replace('severity: warning', 'severity: nope'));
    const merged = mergeWithPrevious(loadRuleSet([file]), first);
    expect(merged.rules.map((r) => r.id)).toEqual(['good-one']);
    expect(merged.errors[0]?.ruleId).toBe('good-one');
  });

  it('reloads on file change without a restart', async () => {
    const file = join(dir, 'r.yaml');
    writeFileSync(file, GOOD);
    const seen: string[][] = [];
    const watcher = watchRules([dir], (set) => seen.push(set.rules.map((r) => r.id)), { debounceMs: 20 });
    try {
      expect(watcher.current().rules.map((r) => r.id)).toEqual(['good-one']);
      writeFileSync(file, GOOD.replace(/good-one/g, 'renamed-rule'));
      const deadline = Date.now() + 5000;
      while (!seen.some((ids) => ids.includes('renamed-rule')) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(watcher.current().rules.map((r) => r.id)).toEqual(['renamed-rule']);
    } finally {
      watcher.close();
    }
  });
});
