import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  imageRepository,
  newAuditParseStats,
  parseAuditLine,
} from '../../../agent/detect/security/audit-parser.ts';
import { createAuditLogDetector } from '../../../agent/detect/security/log-detector.ts';
import { loadRuleSet } from '../../../agent/detect/security/rule-loader.ts';
import { AUDIT_CORPUS_DIR, evaluateAuditCorpus } from '../../../bench/security/audit-corpus.ts';

const rules = loadRuleSet();
const auditRules = rules.rules.filter((r) => r.source === 'k8s_audit').map((r) => r.id);
const scores = evaluateAuditCorpus(rules);

describe('k8s audit rules on the labelled corpus', () => {
  it('has a corpus file with positives and near-misses for every shipped rule', () => {
    for (const id of auditRules) {
      const score = scores.find((s) => s.rule === id)!;
      expect(score.positives, id).toBeGreaterThan(0);
      expect(score.negatives, id).toBeGreaterThan(0);
    }
  });

  it.each(auditRules)('%s fires on its positives and on nothing else', (id) => {
    const score = scores.find((s) => s.rule === id)!;
    expect({ missed: score.missed, falselyFlagged: score.falselyFlagged }).toEqual({
      missed: [],
      falselyFlagged: [],
    });
    expect(score.hits).toBe(score.positives);
  });
});

describe('audit stream robustness', () => {
  const file = fileURLToPath(new URL('../../fixtures/security/malformed-stream.jsonl', import.meta.url));

  it('counts malformed, truncated and non-audit lines, skips them and keeps detecting', () => {
    const detector = createAuditLogDetector(rules, { baseline: false });
    const signals = readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((line) => detector.processLine(line));
    const stats = detector.stats();
    expect(stats.audit).toMatchObject({ malformed: 2, truncated: 2, notAudit: 1, events: 3 });
    const fired = signals.map((s) => s.evidence?.attributes?.['rule']);
    // Events before and after the bad lines, including both items of the EventList, still fire.
    expect(fired).toEqual(['secret-get-successful', 'secret-get-successful', 'attach-exec-pod']);
  });

  it('fires a rule once per request even when several stages of it are logged', () => {
    const lines = readFileSync(`${AUDIT_CORPUS_DIR}/attach-exec-pod.jsonl`, 'utf8').split('\n').slice(0, 2);
    const detector = createAuditLogDetector(rules, { baseline: false });
    expect(lines.flatMap((l) => detector.processLine(l))).toHaveLength(1);
  });

  it('rejects lines over the size cap without parsing them', () => {
    const stats = newAuditParseStats();
    expect(parseAuditLine(`{"x":"${'a'.repeat(1 << 20)}"}`, stats)).toEqual([]);
    expect(stats.oversized).toBe(1);
  });

  it('names a created object from its body when objectRef has no name', () => {
    const stats = newAuditParseStats();
    const [event] = parseAuditLine(
      JSON.stringify({
        kind: 'Event',
        apiVersion: 'audit.k8s.io/v1',
        stage: 'ResponseComplete',
        verb: 'create',
        user: { username: 'mallory' },
        objectRef: { resource: 'pods', namespace: 'default', apiVersion: 'v1' },
        requestObject: {
          metadata: { name: 'node-shell' },
          spec: { hostPID: true, containers: [{ image: 'alpine' }] },
        },
        responseStatus: { code: 201 },
        stageTimestamp: '2026-11-20T10:00:00.000000Z',
      }),
      stats,
    );
    expect(event?.derived.object).toBe('pods/default/node-shell');
  });

  it('derives the image repository the way Falco does', () => {
    expect(imageRepository('docker.io/library/nginx:1.27@sha256:abc')).toBe('docker.io/library/nginx');
    expect(imageRepository('localhost:5000/app')).toBe('localhost:5000/app');
    expect(imageRepository('registry.k8s.io/kube-proxy:v1.35.0')).toBe('registry.k8s.io/kube-proxy');
  });

  it('puts the object, user and technique on audit signals', () => {
    const detector = createAuditLogDetector(rules, { baseline: false, node: 'cp-1' });
    const line = readFileSync(`${AUDIT_CORPUS_DIR}/create-privileged-pod.jsonl`, 'utf8').split('\n')[0]!;
    const [signal] = detector.processLine(line);
    expect(signal).toMatchObject({
      kind: 'security.create_privileged_pod',
      severity: 'warning',
      technique: 'T1610',
      subject: {
        kind: 'object',
        name: 'pods/default/debug-priv',
        node: 'cp-1',
        namespace: 'default',
        pod: 'debug-priv',
      },
      evidence: {
        attributes: { user: 'kubernetes-admin', rule: 'create-privileged-pod' },
        values: { count: 1 },
      },
    });
    expect(signal?.evidence?.lines?.[0]).toContain('"auditID"');
  });
});
