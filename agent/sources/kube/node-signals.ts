// Signals from this node's conditions, the way node-problem-detector reads them: Ready going False or
// Unknown, and a pressure condition going True.
import type { V1Node } from '@kubernetes/client-node';
import type { Signal } from '../../../common/signal.ts';

const PRESSURE = new Set(['MemoryPressure', 'DiskPressure', 'PIDPressure', 'NetworkUnavailable']);

function conditions(node: V1Node | undefined): Map<string, string> {
  return new Map((node?.status?.conditions ?? []).map((c) => [c.type, c.status]));
}

export function nodeSignals(old: V1Node | undefined, node: V1Node, nowMs: number): Signal[] {
  const name = node.metadata?.name ?? '';
  const before = conditions(old);
  const out: Signal[] = [];
  for (const c of node.status?.conditions ?? []) {
    const bad = c.type === 'Ready' ? c.status !== 'True' : PRESSURE.has(c.type) && c.status === 'True';
    const wasBad = before.has(c.type)
      ? c.type === 'Ready'
        ? before.get(c.type) !== 'True'
        : before.get(c.type) === 'True'
      : false;
    if (!bad || wasBad) continue;
    out.push({
      kind: 'node.condition',
      subject: { kind: 'node', node: name },
      timeMs: c.lastTransitionTime ? new Date(c.lastTransitionTime).getTime() : nowMs,
      severity: c.type === 'Ready' ? 'critical' : 'error',
      score: c.type === 'Ready' ? 1 : 0.8,
      explanation: `node ${name}: ${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ''}${c.message ? `: ${c.message}` : ''}`,
      evidence: { attributes: { condition: c.type, status: c.status, reason: c.reason ?? '' } },
      source: 'kube.node',
    });
  }
  return out;
}
