import { readFileSync } from 'node:fs';
import { create } from '@bufbuild/protobuf';
import * as grpc from '@grpc/grpc-js';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { incidentHandlers } from '../../../aggregator/api/incidents.ts';
import { createIncidentEngine } from '../../../aggregator/correlate/engine.ts';
import { InvalidReportError, parseTrivyReport } from '../../../aggregator/security/trivy.ts';
import {
  normaliseImageName,
  VulnerabilityIndex,
  vulnerableWorkloadSignal,
} from '../../../aggregator/security/vulnerability-index.ts';
import type { Signal } from '../../../common/signal.ts';
import {
  IngestScanReportRequestSchema,
  type IngestScanReportResponse,
} from '../../../proto/gen/vigil/v1/incidents_pb.js';
import { StaticTopology } from '../../support/static-topology.ts';

const FIXTURE = new URL('../../fixtures/trivy/shop-api-3.2.1.json', import.meta.url);
const RAW = readFileSync(FIXTURE, 'utf8');
const DIGEST = 'sha256:9b8a7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b';
const T0 = Date.parse('2026-11-27T00:00:00Z');
const logger = pino({ level: 'silent' });

function withReport(mutate: (r: Record<string, unknown>) => void): string {
  const r = JSON.parse(RAW) as Record<string, unknown>;
  mutate(r);
  return JSON.stringify(r);
}

/** The fixture under another image name, with no digests. */
function otherImage(name: string): string {
  return withReport((r) => {
    r['ArtifactName'] = name;
    r['Metadata'] = {};
  });
}

/** shop/api pinned by digest on node-1, shop/web by a Docker Hub style name on node-2, a bare pod. */
function cluster(): StaticTopology {
  return new StaticTopology()
    .addPod({
      namespace: 'shop',
      name: 'api-1',
      node: 'node-1',
      workload: 'Deployment/shop/api',
      images: [`registry.local/shop/api@${DIGEST}`],
    })
    .addPod({
      namespace: 'shop',
      name: 'api-2',
      node: 'node-2',
      workload: 'Deployment/shop/api',
      images: [`registry.local/shop/api@${DIGEST}`],
    })
    .addPod({
      namespace: 'shop',
      name: 'web-1',
      node: 'node-2',
      workload: 'Deployment/shop/web',
      images: ['docker.io/library/nginx', 'docker.io/shop/api:3.2.1'],
    })
    .addPod({
      namespace: 'shop',
      name: 'other-1',
      node: 'node-1',
      workload: 'Deployment/shop/other',
      images: ['redis:7'],
    });
}

describe('trivy report parsing', () => {
  it('summarises a real-shaped report per image: counts by severity and the critical fixable CVEs', () => {
    const r = parseTrivyReport(RAW);
    expect(r.image).toBe('shop/api:3.2.1');
    expect(r.counts).toEqual({ UNKNOWN: 0, LOW: 1, MEDIUM: 1, HIGH: 3, CRITICAL: 3 });
    expect(r.criticalFixable.map((c) => c.id)).toEqual(['CVE-2023-26136', 'CVE-2024-5535']);
    expect(r.criticalFixable[1]).toEqual({
      id: 'CVE-2024-5535',
      package: 'libssl3',
      installed: '3.0.11-1~deb12u2',
      fixed: '3.0.14-1~deb12u2',
      title: 'openssl: SSL_select_next_proto buffer overread',
    });
    expect(r.digests).toContain(DIGEST);
  });

  it('rejects a report with a bad severity, naming the field', () => {
    const bad = withReport((r) => {
      const results = r['Results'] as Array<{ Vulnerabilities: Array<Record<string, unknown>> }>;
      (results[0]?.Vulnerabilities[2] as Record<string, unknown>)['Severity'] = 'SEVERE';
    });
    expect(() => parseTrivyReport(bad)).toThrow(InvalidReportError);
    expect(() => parseTrivyReport(bad)).toThrow(/Results\[0\]\.Vulnerabilities\[2\]\.Severity/);
  });

  it('rejects a report without ArtifactName and text that is not JSON', () => {
    expect(() => parseTrivyReport(withReport((r) => delete r['ArtifactName']))).toThrow(/ArtifactName/);
    expect(() => parseTrivyReport('{"ArtifactName": ')).toThrow(/not valid JSON/);
  });
});

describe('vulnerability index', () => {
  it('normalises Docker Hub prefixes and a missing tag', () => {
    expect(normaliseImageName('docker.io/library/nginx')).toBe('nginx:latest');
    expect(normaliseImageName('nginx')).toBe('nginx:latest');
    expect(normaliseImageName('registry.local:5000/shop/api')).toBe('registry.local:5000/shop/api:latest');
    expect(normaliseImageName('docker.io/shop/api:3.2.1')).toBe('shop/api:3.2.1');
  });

  it('joins pods to the report by digest and by name:tag', () => {
    const index = new VulnerabilityIndex();
    const report = parseTrivyReport(RAW);
    index.add(report);
    const affected = index.workloadsAffected(cluster());
    expect(affected.map((a) => a.workload).sort()).toEqual(['Deployment/shop/api', 'Deployment/shop/web']);
    expect(index.lookup(`anything@${DIGEST}`)).toBe(report);
    expect(index.lookup('shop/api:3.2.1')).toBe(report);
    expect(index.lookup('shop/api:3.2.2')).toBeUndefined();
    // A digest-pinned reference with an unknown digest and no tag is not guessed to be `:latest`.
    expect(index.lookup('shop/api@sha256:' + '0'.repeat(64))).toBeUndefined();
  });

  it('keeps only the latest report per image and at most maxImages images', () => {
    const index = new VulnerabilityIndex(2);
    index.add(parseTrivyReport(RAW));
    const patched = parseTrivyReport(withReport((r) => (r['Results'] = [])));
    index.add(patched);
    expect(index.size).toBe(1);
    expect(index.lookup('shop/api:3.2.1')).toBe(patched);
    index.add(parseTrivyReport(otherImage('a:1')));
    index.add(parseTrivyReport(otherImage('b:1')));
    expect(index.size).toBe(2);
    expect(index.lookup('shop/api:3.2.1')).toBeUndefined();
    expect(index.lookup(`x@${DIGEST}`)).toBeUndefined();
  });

  it('builds one critical signal per vulnerable workload naming the fixable CVEs', () => {
    const index = new VulnerabilityIndex();
    index.add(parseTrivyReport(RAW));
    const api = index.workloadsAffected(cluster()).find((a) => a.workload === 'Deployment/shop/api');
    const s = api && vulnerableWorkloadSignal(api, T0);
    expect(s).toMatchObject({
      kind: 'security.vulnerable_workload',
      subject: { kind: 'workload', namespace: 'shop', workload: 'Deployment/api' },
      severity: 'critical',
      technique: 'T1190',
      explanation:
        'Deployment shop/api runs shop/api:3.2.1 with 2 critical CVEs that have fixes (CVE-2023-26136, CVE-2024-5535)',
    });
    expect(s?.evidence?.lines?.length).toBeLessThanOrEqual(5);
  });

  it('warns, not pages, when no critical CVE has a fix, and stays silent without criticals', () => {
    const index = new VulnerabilityIndex();
    const noFix = parseTrivyReport(
      withReport((r) => {
        for (const res of r['Results'] as Array<{ Vulnerabilities?: Array<Record<string, unknown>> }>)
          for (const v of res.Vulnerabilities ?? []) delete v['FixedVersion'];
      }),
    );
    index.add(noFix);
    const [first] = index.workloadsAffected(cluster(), noFix);
    expect(first && vulnerableWorkloadSignal(first, T0)?.severity).toBe('warning');
    const clean = parseTrivyReport(withReport((r) => (r['Results'] = [])));
    expect(
      vulnerableWorkloadSignal(
        {
          workload: 'Deployment/shop/api',
          namespace: 'shop',
          images: [{ image: 'x', vulnerabilities: clean }],
        },
        T0,
      ),
    ).toBeUndefined();
  });

  it('raises a signal once for a rollout whose new revision runs an image with critical CVEs', () => {
    const index = new VulnerabilityIndex();
    index.add(parseTrivyReport(RAW));
    const topo = cluster()
      .addRevision({
        workload: 'Deployment/shop/api',
        revision: 7,
        images: ['shop/api:3.2.1'],
        createdMs: T0,
      })
      .addChange({ kind: 'rollout', object: 'Deployment/shop/api', timeMs: T0, description: 'revision 7' })
      .addChange({
        kind: 'rollout',
        object: 'Deployment/shop/other',
        timeMs: T0 + 1,
        description: 'revision 2',
      });
    const signals = index.checkNewRollouts(topo, T0 - 5000);
    expect(signals).toHaveLength(1);
    expect(signals[0]).toMatchObject({
      kind: 'security.vulnerable_rollout',
      severity: 'critical',
      subject: { kind: 'workload', namespace: 'shop', workload: 'Deployment/api' },
    });
    expect(index.checkNewRollouts(topo, T0 - 5000)).toHaveLength(0);
  });
});

describe('IngestScanReport handler', () => {
  function call(handlers: ReturnType<typeof incidentHandlers>, format: string, report: string) {
    return new Promise<{ error: Partial<grpc.StatusObject> | null; value?: IngestScanReportResponse }>(
      (resolve) => {
        const request = create(IngestScanReportRequestSchema, {
          format,
          report: new TextEncoder().encode(report),
        });
        const h = handlers.ingestScanReport as unknown as (
          c: { request: unknown },
          cb: (e: Partial<grpc.StatusObject> | null, v?: IngestScanReportResponse) => void,
        ) => void;
        h({ request }, (error, value) => resolve(value ? { error, value } : { error }));
      },
    );
  }

  it('raises the severity of an open incident on a workload running an image with critical fixable CVEs', async () => {
    const topo = cluster();
    const engine = createIncidentEngine({ topology: topo, logger, clock: () => T0 });
    const restart: Signal = {
      kind: 'pod.crash_loop',
      subject: { kind: 'pod', namespace: 'shop', pod: 'api-1', node: 'node-1' },
      timeMs: T0 - 1000,
      severity: 'error',
      score: 0.7,
      explanation: 'api-1 restarts',
    };
    engine.ingestSignals([restart]);
    expect(engine.incidents()).toHaveLength(1);
    expect(engine.incidents()[0]?.severity).toBe('error');

    const index = new VulnerabilityIndex();
    const { error, value } = await call(
      incidentHandlers(engine, () => T0, { index, topology: topo }),
      'trivy',
      RAW,
    );
    expect(error).toBeNull();
    expect(value).toMatchObject({ image: 'shop/api:3.2.1', critical: 3, criticalFixable: 2, high: 3 });
    expect([...(value?.affectedWorkloads ?? [])].sort()).toEqual([
      'Deployment/shop/api',
      'Deployment/shop/web',
    ]);
    const apiIncident = engine.incidents().find((i) => i.groups.some((g) => g.kind === 'pod.crash_loop'));
    expect(apiIncident?.severity).toBe('critical');
    expect(apiIncident?.groups.map((g) => g.kind)).toContain('security.vulnerable_workload');
    engine.stop();
  });

  it('answers INVALID_ARGUMENT for malformed JSON and for an unknown format', async () => {
    const engine = createIncidentEngine({ topology: cluster(), logger, clock: () => T0 });
    const handlers = incidentHandlers(engine, () => T0);
    const bad = await call(handlers, 'trivy', '{not json');
    expect(bad.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bad.error?.details).toMatch(/not valid JSON/);
    const grype = await call(handlers, 'grype', RAW);
    expect(grype.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    engine.stop();
  });
});
