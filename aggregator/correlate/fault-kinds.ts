// What a signal says about a fault: the fault-like kind it points to and how cause-like it is (prior).
// A pod OOM kill or a node going NotReady is something that happens *to* an object; connection errors in
// a client's log are what its callers *see*. General families by signal kind and metric name, never rules
// for one scenario.
import type { SignalGroup } from './incident.ts';

export interface FaultHint {
  /** Fault-like kind, e.g. `oom_kill`, `crash_loop`, `disk_fill`, `latency_spike`, `error_logs`. */
  fault: string;
  /** 0..1: how likely a signal of this family is a cause rather than a symptom. */
  prior: number;
  /** True for families that are typically caused by something else (errors, flapping readiness). */
  symptom: boolean;
  /** Security signals rank by impact, not by which step of the attack came first. */
  security: boolean;
}

/** The metric a signal is about: evidence attribute when the detector names it, else the explanation. */
export function metricText(g: SignalGroup): string {
  const attrs = g.exemplar.evidence?.attributes ?? {};
  return (attrs['metric'] ?? attrs['series'] ?? attrs['name'] ?? g.explanation).toLowerCase();
}

type Resource = 'memory' | 'disk' | 'latency' | 'cpu' | 'errors' | 'other';

function resourceOf(text: string): Resource {
  if (/latency|duration|response.?time|p9\d|took|slow/.test(text)) return 'latency';
  if (/memory|\bmem\b|rss|working.?set|oom|swap/.test(text)) return 'memory';
  if (/\bfs\b|disk|filesystem|inode|volume|storage|\.fs\./.test(text)) return 'disk';
  if (/cpu|load|throttl/.test(text)) return 'cpu';
  if (/error|5\d\d|fail/.test(text)) return 'errors';
  return 'other';
}

// Security: impact of the step (what must be undone), roughly ATT&CK tactic order toward the objective.
const SECURITY_IMPACT: Array<[RegExp, string, number]> = [
  [/bruteforce_success|break_in|login_after_failures/, 'ssh_bruteforce', 0.95],
  [/privileged|sensitive_mount|hostpid|hostnetwork|hostipc|escape|release_agent/, 'privileged_pod', 0.9],
  [/cluster_admin|clusterrole|wildcard/, 'privilege_escalation', 0.85],
  [/bruteforce|spray/, 'ssh_bruteforce', 0.85],
  [/secret/, 'secret_access', 0.8],
  [/exec|attach|ephemeral|shell/, 'exec_into_pod', 0.7],
];

function nodeCondition(g: SignalGroup): FaultHint {
  const attrs = g.exemplar.evidence?.attributes ?? {};
  const text = `${attrs['condition'] ?? ''} ${attrs['type'] ?? ''} ${g.explanation}`.toLowerCase();
  const mk = (fault: string, prior: number): FaultHint => ({ fault, prior, symptom: false, security: false });
  if (/diskpressure|disk/.test(text)) return mk('disk_fill', 0.9);
  if (/memorypressure|memory/.test(text)) return mk('memory_pressure', 0.85);
  if (/pidpressure/.test(text)) return mk('pid_pressure', 0.8);
  if (/networkunavailable|network/.test(text)) return mk('network_unavailable', 0.85);
  if (/notready|not ready|ready=false|unknown|kubelet/.test(text)) return mk('node_not_ready', 0.95);
  return mk('node_condition', 0.7);
}

export function faultHint(g: SignalGroup): FaultHint {
  const kind = g.kind;
  const mk = (fault: string, prior: number, symptom = false): FaultHint => ({
    fault,
    prior,
    symptom,
    security: false,
  });
  if (kind.startsWith('security.')) {
    const suffix = kind.slice('security.'.length);
    for (const [re, fault, prior] of SECURITY_IMPACT) {
      if (re.test(suffix)) return { fault, prior, symptom: false, security: true };
    }
    return { fault: suffix, prior: 0.6, symptom: false, security: true };
  }
  switch (kind) {
    case 'pod.oom_killed':
      return mk('oom_kill', 0.9);
    case 'pod.crash_loop':
      return mk('crash_loop', 0.75);
    case 'pod.image_pull_failed':
      return mk('image_pull_failed', 0.85);
    case 'pod.restarted':
      return mk('restart', 0.5);
    case 'pod.evicted':
      return mk('evicted', 0.45, true);
    case 'pod.readiness_flapping':
      return mk('readiness_failing', 0.35, true);
    case 'node.condition':
      return nodeCondition(g);
    default:
      break;
  }
  if (kind.startsWith('node.')) return mk(kind.slice(5), 0.7);
  if (kind.startsWith('metric.')) {
    const r = resourceOf(metricText(g));
    const forecast = kind === 'metric.exhaustion_forecast';
    const trend = kind === 'metric.trend' || forecast;
    if (r === 'memory') return mk(trend ? 'memory_leak' : 'memory_spike', trend ? 0.8 : 0.55);
    if (r === 'disk') return mk('disk_fill', trend ? 0.85 : 0.65);
    if (r === 'latency') return mk('latency_spike', 0.6);
    if (r === 'cpu') return mk('cpu_saturation', 0.5);
    if (r === 'errors') return mk('error_rate', 0.35, true);
    return mk(trend ? 'resource_trend' : 'metric_anomaly', 0.4);
  }
  if (kind === 'log.silence') return mk('log_silence', 0.35, true);
  if (kind.startsWith('log.')) {
    const r = resourceOf(`${g.explanation} ${(g.exemplar.evidence?.lines ?? []).join(' ')}`.toLowerCase());
    if (r === 'latency') return mk('latency_spike', 0.4, true);
    return mk('error_logs', 0.3, true);
  }
  return mk(kind.replace(/\./g, '_'), 0.3, true);
}

/** What callers' lines say about a callee: slow (timeouts, 504) or down (refused, 503, reset). */
export function calleeFault(lines: readonly string[]): 'latency_spike' | 'dependency_down' {
  let slow = 0;
  let down = 0;
  for (const l of lines) {
    const t = l.toLowerCase();
    if (/timeout|timed out|deadline|504|slow|took \d/.test(t)) slow += 1;
    if (/refused|unavailable|503|reset|no route|unreachable|no such host|eof|broken pipe/.test(t)) down += 1;
  }
  return slow > down ? 'latency_spike' : 'dependency_down';
}
