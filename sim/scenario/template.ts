// Log message templates: literal text with variables in braces, e.g.
// `GET /api/items/{int:1-500} 200 {latency}ms from {ip}`. See docs/scenarios.md for the list.
import type { Random } from '../random.ts';

export interface TemplateContext {
  pod: string;
  node: string;
  namespace: string;
  service: string;
  /** Multiplies {latency}; 1 normally, the factor during a latency spike. */
  latencyFactor: number;
  target?: string;
}

type Part = string | ((r: Random, ctx: TemplateContext) => string);

export type Template = (r: Random, ctx: TemplateContext) => string;

const VAR = /\{([a-z]+)(?::([^}]*))?\}/g;

function compileVar(name: string, arg: string | undefined): Part {
  switch (name) {
    case 'int': {
      const m = /^(-?\d+)-(-?\d+)$/.exec(arg ?? '');
      if (!m) throw new Error(`{int:MIN-MAX} needs a range, got {int:${arg ?? ''}}`);
      const [min, max] = [Number(m[1]), Number(m[2])];
      return (r) => String(r.int(min, max));
    }
    case 'float': {
      const m = /^(-?[\d.]+)-(-?[\d.]+)$/.exec(arg ?? '');
      if (!m) throw new Error(`{float:MIN-MAX} needs a range, got {float:${arg ?? ''}}`);
      const [min, max] = [Number(m[1]), Number(m[2])];
      return (r) => (min + r.next() * (max - min)).toFixed(2);
    }
    case 'choice': {
      const options = (arg ?? '').split('|');
      if (options.length < 1 || !arg) throw new Error('{choice:a|b|c} needs options');
      return (r) => r.pick(options);
    }
    case 'hex': {
      const n = Number(arg ?? 8);
      return (r) => {
        let s = '';
        for (let i = 0; i < n; i++) s += Math.floor(r.next() * 16).toString(16);
        return s;
      };
    }
    case 'ip':
      return (r) => `10.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(1, 254)}`;
    case 'uuid':
      return (r) => r.uuid();
    case 'latency':
      return (r, c) => String(Math.round(r.int(4, 60) * c.latencyFactor));
    case 'pod':
      return (_, c) => c.pod;
    case 'node':
      return (_, c) => c.node;
    case 'namespace':
      return (_, c) => c.namespace;
    case 'service':
      return (_, c) => c.service;
    case 'target':
      return (_, c) => c.target ?? '';
    default:
      throw new Error(
        `unknown variable {${name}} (known: int, float, choice, hex, ip, uuid, latency, pod, node, namespace, service, target)`,
      );
  }
}

export function compileTemplate(text: string): Template {
  const parts: Part[] = [];
  let last = 0;
  for (const m of text.matchAll(VAR)) {
    if (m.index > last) parts.push(text.slice(last, m.index));
    parts.push(compileVar(m[1] ?? '', m[2]));
    last = m.index + m[0].length;
  }
  if (last < text.length) parts.push(text.slice(last));
  return (r, ctx) => parts.map((p) => (typeof p === 'string' ? p : p(r, ctx))).join('');
}

export type LogFormat = 'plain' | 'json' | 'logfmt';

/** Renders one application log line in the workload's format. */
export function formatAppLine(format: LogFormat, wallMs: number, level: string, message: string): string {
  const ts = new Date(wallMs).toISOString();
  if (format === 'json') return JSON.stringify({ ts, level, msg: message });
  if (format === 'logfmt') return `time=${ts} level=${level} msg=${JSON.stringify(message)}`;
  return `${ts} ${level.toUpperCase()} ${message}`;
}
