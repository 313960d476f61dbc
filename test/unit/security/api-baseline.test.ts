import { describe, expect, it } from 'vitest';
import { ApiBehaviourBaseline } from '../../../agent/detect/security/api-baseline.ts';
import { newAuditParseStats, parseAuditLine } from '../../../agent/detect/security/audit-parser.ts';
import { createAuditLogDetector } from '../../../agent/detect/security/log-detector.ts';
import { loadRuleSet } from '../../../agent/detect/security/rule-loader.ts';
import { backgroundAuditLines } from '../../../bench/security/background-traffic.ts';

const T0 = Date.parse('2026-11-20T08:00:00Z');
let n = 0;

function line(user: string, verb: string, resource: string, atMs: number, ns?: string, sub?: string): string {
  n++;
  return JSON.stringify({
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    auditID: `id-${n}`,
    stage: 'ResponseComplete',
    requestURI: `/api/v1/${ns ? `namespaces/${ns}/` : ''}${resource}${sub ? `/x/${sub}` : ''}`,
    verb,
    user: { username: user, groups: ['system:authenticated'] },
    sourceIPs: ['10.0.3.4'],
    objectRef: {
      resource,
      ...(ns ? { namespace: ns } : {}),
      ...(sub ? { name: 'x', subresource: sub } : {}),
    },
    responseStatus: { code: 200 },
    requestReceivedTimestamp: new Date(atMs).toISOString(),
    stageTimestamp: new Date(atMs + 5).toISOString(),
  });
}

const SA = 'system:serviceaccount:shop:web';

function feed(baseline: ApiBehaviourBaseline, lines: string[]) {
  const stats = newAuditParseStats();
  return lines.flatMap((l) => parseAuditLine(l, stats).flatMap((e) => baseline.observe(e)));
}

/** 70 minutes of a service account's normal life: get configmaps and watch endpoints in its namespace. */
function normalHour(): string[] {
  const out: string[] = [];
  for (let m = 0; m < 70; m++) {
    for (let k = 0; k < 8; k++) {
      const at = T0 + m * 60_000 + k * 7_000;
      out.push(
        k % 2 ? line(SA, 'get', 'configmaps', at, 'shop') : line(SA, 'watch', 'endpoints', at, 'shop'),
      );
    }
  }
  return out;
}

const AFTER = T0 + 71 * 60_000;

describe('unusual API traffic baseline', () => {
  it('stays quiet during the learning period and on learned behaviour', () => {
    const baseline = new ApiBehaviourBaseline({ learningMs: 3_600_000 });
    const signals = feed(baseline, [...normalHour(), line(SA, 'get', 'configmaps', AFTER, 'shop')]);
    expect(signals).toEqual([]);
  });

  it('flags a service account that suddenly lists secrets across namespaces', () => {
    const baseline = new ApiBehaviourBaseline({ learningMs: 3_600_000 });
    feed(baseline, normalHour());
    const signals = feed(baseline, [line(SA, 'list', 'secrets', AFTER)]);
    expect(signals).toHaveLength(1);
    expect(signals[0]).toMatchObject({
      kind: 'security.unusual_api_traffic',
      severity: 'warning',
      technique: 'T1552.007',
      subject: { kind: 'user', name: SA },
    });
    expect(signals[0]?.explanation).toMatch(/list secrets \(all namespaces\) for the first time/);
    // Learned now: the same action again is not news.
    expect(feed(baseline, [line(SA, 'list', 'secrets', AFTER + 1000)])).toEqual([]);
  });

  it('flags a request-rate burst far above the learned peak, once per minute', () => {
    const baseline = new ApiBehaviourBaseline({ learningMs: 3_600_000 });
    feed(baseline, normalHour());
    const burst = Array.from({ length: 150 }, (_, i) =>
      line(SA, 'get', 'configmaps', AFTER + i * 100, 'shop'),
    );
    const signals = feed(baseline, burst);
    expect(signals.map((s) => s.evidence?.attributes?.['reason'])).toEqual(['rate burst']);
    expect(signals[0]?.explanation).toMatch(/learned peak 8\/min/);
  });

  it('flags a first-ever exec and a fan-out into namespaces never used', () => {
    const baseline = new ApiBehaviourBaseline({ learningMs: 3_600_000 });
    feed(baseline, normalHour());
    const signals = feed(baseline, [
      line(SA, 'create', 'pods', AFTER, 'shop', 'exec'),
      line(SA, 'get', 'configmaps', AFTER + 1000, 'billing'),
      line(SA, 'get', 'configmaps', AFTER + 2000, 'payments'),
      line(SA, 'get', 'configmaps', AFTER + 3000, 'kube-system'),
    ]);
    const reasons = signals.map((s) => `${s.evidence?.attributes?.['reason']}:${s.technique}`);
    expect(reasons).toContain('first-ever action:T1609');
    expect(reasons).toContain('namespace fan-out:T1613');
    expect(
      signals.find((s) => s.evidence?.attributes?.['reason'] === 'namespace fan-out')?.explanation,
    ).toMatch(/billing, payments, kube-system/);
  });

  it('restores what it learned after a restart instead of learning again', () => {
    const before = new ApiBehaviourBaseline({ learningMs: 3_600_000 });
    feed(before, normalHour());
    const after = new ApiBehaviourBaseline({ learningMs: 3_600_000 });
    after.restore(JSON.parse(JSON.stringify(before.snapshot())));
    expect(feed(after, [line(SA, 'get', 'configmaps', AFTER, 'shop')])).toEqual([]);
    expect(feed(after, [line(SA, 'list', 'secrets', AFTER + 1000)])).toHaveLength(1);
  });

  it('hands its baseline through the audit log detector snapshot', () => {
    const first = createAuditLogDetector(loadRuleSet());
    for (const l of normalHour()) first.processLine(l);
    const second = createAuditLogDetector(loadRuleSet(), { restore: first.snapshot()! });
    expect(second.processLine(line(SA, 'list', 'secrets', AFTER))).toHaveLength(1);
  });

  it('keeps the number of tracked identities bounded', () => {
    const baseline = new ApiBehaviourBaseline({ maxIdentities: 50 });
    feed(
      baseline,
      Array.from({ length: 500 }, (_, i) => line(`user-${i}`, 'get', 'pods', T0 + i, 'default')),
    );
    expect(baseline.identities).toBe(50);
  });

  it('says nothing about two hours of a quiet cluster (kubelets, controllers, rollouts, monitoring, probes)', () => {
    const detector = createAuditLogDetector(loadRuleSet());
    const signals = backgroundAuditLines(T0, 120).flatMap(({ line }) => detector.processLine(line));
    expect(signals.map((s) => s.explanation)).toEqual([]);
    expect(detector.stats().events).toBeGreaterThan(10_000);
  });
});
