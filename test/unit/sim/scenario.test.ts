import { describe, expect, it } from 'vitest';
import { createRandom } from '../../../sim/random.ts';
import { parseScenario, ScenarioError } from '../../../sim/scenario/load.ts';
import { compileTemplate, formatAppLine } from '../../../sim/scenario/template.ts';

const VALID = `name: tiny
nodes:
  - { name: cp-1, role: control-plane }
  - { name: node, count: 2 }
namespaces: [shop]
workloads:
  - kind: StatefulSet
    name: db
    namespace: shop
    image: postgres:16
    port: 5432
  - name: api
    namespace: shop
    replicas: 2
    image: api:1
    calls: [db]
    logs:
      - { rate: 1, message: 'GET /x/{int:1-9} {latency}ms' }
faults:
  - kind: oom_kill
    at: 10
    target: Pod/shop/db-0
groundTruth:
  rootCause: { kind: oom_kill, object: Pod/shop/db-0 }
  startsAt: 10
`;

function errorOf(text: string): ScenarioError {
  try {
    parseScenario(text, 'bad.yaml');
  } catch (err) {
    if (err instanceof ScenarioError) return err;
    throw err;
  }
  throw new Error('expected the scenario to be rejected');
}

describe('scenario validation', () => {
  it('accepts a valid scenario and fills in defaults', () => {
    const s = parseScenario(VALID, 'ok.yaml');
    expect(s.durationSeconds).toBe(90);
    expect(s.workloads[1]?.kind).toBe('Deployment');
    expect(s.cluster.logMaxFiles).toBe(5);
    expect(s.faults[0]).toMatchObject({ kind: 'oom_kill', rampSeconds: 8 });
  });

  it('names file, line and reason for a wrong enum value', () => {
    const e = errorOf(VALID.replace('role: control-plane', 'role: master'));
    expect(e.file).toBe('bad.yaml');
    expect(e.line).toBe(3);
    expect(e.message).toMatch(/^bad\.yaml:3:\d+: nodes\[0\]\.role: /);
  });

  it('points at the line of a malformed object reference', () => {
    const e = errorOf(VALID.replace('    target: Pod/shop/db-0', '    target: Pod/db-0'));
    expect(e.line).toBe(22);
    expect(e.reason).toContain('faults[0].target: must be Kind/namespace/name');
  });

  it('rejects an unknown template variable on the line of the message', () => {
    const e = errorOf(VALID.replace('{latency}ms', '{latncy}ms'));
    expect(e.line).toBe(18);
    expect(e.reason).toContain('unknown variable {latncy}');
  });

  it('rejects a call to a service no workload defines', () => {
    const e = errorOf(VALID.replace('calls: [db]', 'calls: [cache]'));
    expect(e.line).toBe(16);
    expect(e.reason).toContain('calls "cache", but no workload with a port defines Service shop/cache');
  });

  it('rejects a ground truth whose fault kind never happens', () => {
    const e = errorOf(VALID.replace('rootCause: { kind: oom_kill', 'rootCause: { kind: disk_fill'));
    expect(e.line).toBe(24);
    expect(e.reason).toContain('no fault of kind disk_fill');
  });

  it('rejects unknown keys instead of ignoring typos', () => {
    const e = errorOf(VALID.replace('    replicas: 2', '    replica: 2'));
    expect(e.line).toBe(14);
    expect(e.reason).toMatch(/Unrecognized key.*replica/);
  });

  it('reports YAML syntax errors with their position', () => {
    const e = errorOf('name: x\nnodes:\n  - name: a\n   bad: [\n');
    expect(e.line).toBe(4);
  });
});

describe('log templates', () => {
  it('renders variables deterministically for a seed', () => {
    const t = compileTemplate('{int:1-3} {choice:a|b} {ip} {uuid} {hex:4} {pod}@{node} {latency}ms');
    const ctx = { pod: 'p', node: 'n', namespace: 'ns', service: 's', latencyFactor: 10 };
    const a = t(createRandom(3), ctx);
    expect(a).toBe(t(createRandom(3), ctx));
    expect(a).toMatch(/^[1-3] [ab] 10\.\d+\.\d+\.\d+ [0-9a-f-]{36} [0-9a-f]{4} p@n \d+ms$/);
    expect(Number(/ (\d+)ms$/.exec(a)?.[1])).toBeGreaterThanOrEqual(40);
  });

  it('formats plain, json and logfmt lines', () => {
    const ms = Date.UTC(2024, 0, 1);
    expect(formatAppLine('plain', ms, 'error', 'boom')).toBe('2024-01-01T00:00:00.000Z ERROR boom');
    expect(JSON.parse(formatAppLine('json', ms, 'info', 'ok'))).toEqual({
      ts: '2024-01-01T00:00:00.000Z',
      level: 'info',
      msg: 'ok',
    });
    expect(formatAppLine('logfmt', ms, 'warn', 'a "b"')).toBe(
      'time=2024-01-01T00:00:00.000Z level=warn msg="a \\"b\\""',
    );
  });
});
