// Loads a scenario: a built-in name (sim/scenarios/<name>.yaml) or a path. Any problem — YAML syntax,
// schema, or a reference to something the scenario does not define — is a ScenarioError naming the
// file, the line and the reason.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isMap, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { CLUSTER_SCOPED_KINDS, type Scenario, scenarioSchema } from './schema.ts';
import { compileTemplate } from './template.ts';

export const SCENARIO_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', 'scenarios');

export class ScenarioError extends Error {
  override readonly name = 'ScenarioError';
  readonly file: string;
  readonly line: number;
  readonly column: number;
  readonly reason: string;

  constructor(file: string, line: number, column: number, reason: string) {
    super(`${file}:${line}:${column}: ${reason}`);
    this.file = file;
    this.line = line;
    this.column = column;
    this.reason = reason;
  }
}

export function resolveScenarioPath(nameOrFile: string): string {
  if (nameOrFile.endsWith('.yaml') || nameOrFile.endsWith('.yml') || nameOrFile.includes('/'))
    return resolve(nameOrFile);
  return join(SCENARIO_DIR, `${nameOrFile}.yaml`);
}

export function loadScenario(nameOrFile: string): Scenario {
  const file = resolveScenarioPath(nameOrFile);
  if (!existsSync(file))
    throw new ScenarioError(file, 1, 1, `scenario file not found (built-in names: see ${SCENARIO_DIR})`);
  return parseScenario(readFileSync(file, 'utf8'), file);
}

type Path = ReadonlyArray<string | number>;

/** The line and column of the deepest YAML node that exists along `path`. */
function locate(
  doc: ReturnType<typeof parseDocument>,
  counter: LineCounter,
  path: Path,
): { line: number; col: number } {
  let node: unknown = doc.contents;
  let best = (doc.contents as YamlNode | null)?.range?.[0] ?? 0;
  for (const seg of path) {
    let next: unknown;
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === seg);
      if (pair) {
        best = (pair.key as YamlNode | null)?.range?.[0] ?? best;
        next = pair.value;
      }
    } else if (isSeq(node) && typeof seg === 'number') {
      next = node.items[seg];
    }
    if (!next) break;
    const start = (next as YamlNode).range?.[0];
    if (start !== undefined && !isMap(next) && !isSeq(next)) best = start;
    else if (start !== undefined && typeof seg === 'number') best = start;
    node = next;
  }
  const pos = counter.linePos(best);
  return { line: pos.line, col: pos.col };
}

function pathText(path: Path): string {
  return path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`))
    .join('')
    .replace(/^\./, '');
}

export function parseScenario(text: string, file = '<scenario>'): Scenario {
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const pos = counter.linePos(yamlError.pos[0]);
    throw new ScenarioError(file, pos.line, pos.col, yamlError.message.split('\n')[0] ?? 'invalid YAML');
  }
  const raw = doc.toJS();
  const fail = (path: Path, reason: string): never => {
    const { line, col } = locate(doc, counter, path);
    throw new ScenarioError(file, line, col, path.length ? `${pathText(path)}: ${reason}` : reason);
  };
  const parsed = scenarioSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = firstIssue(parsed.error.issues);
    // An unknown key is reported on its own line, not on the object that holds it.
    const path =
      issue.code === 'unrecognized_keys' && issue.keys[0] ? [...issue.path, issue.keys[0]] : issue.path;
    fail(path as Path, issue.message);
  }
  const scenario = (parsed as { data: Scenario }).data;
  checkReferences(scenario, fail);
  return scenario;
}

function firstIssue(issues: z.core.$ZodIssue[]): z.core.$ZodIssue {
  // Report the deepest issue: it points at the offending line, not at its parent list.
  return [...issues].sort((a, b) => b.path.length - a.path.length)[0] as z.core.$ZodIssue;
}

export function nodeNames(s: Scenario): string[] {
  return s.nodes.flatMap((n) =>
    n.count ? Array.from({ length: n.count }, (_, i) => `${n.name}-${i + 1}`) : [n.name],
  );
}

/** Cross-references the schema cannot check: calls, fault targets, ground truth. */
function checkReferences(s: Scenario, fail: (path: Path, reason: string) => never): void {
  const nodes = new Set(nodeNames(s));
  if (nodes.size !== nodeNames(s).length) fail(['nodes'], 'node names must be unique');
  const namespaces = new Set(['default', 'kube-system', ...s.namespaces]);
  const workloads = new Map<string, Scenario['workloads'][number]>();
  s.workloads.forEach((w, i) => {
    if (!namespaces.has(w.namespace))
      fail(['workloads', i, 'namespace'], `namespace "${w.namespace}" is not listed under namespaces`);
    const key = `${w.namespace}/${w.name}`;
    if (workloads.has(key)) fail(['workloads', i, 'name'], `workload ${key} is defined twice`);
    workloads.set(key, w);
  });
  const services = new Set(
    [...workloads.values()].filter((w) => w.port !== undefined).map((w) => `${w.namespace}/${w.name}`),
  );
  s.workloads.forEach((w, i) => {
    w.logs.forEach((l, j) => {
      try {
        compileTemplate(l.message);
      } catch (err) {
        fail(['workloads', i, 'logs', j, 'message'], (err as Error).message);
      }
    });
    w.calls.forEach((c, j) => {
      const key = c.includes('/') ? c : `${w.namespace}/${c}`;
      if (!services.has(key))
        fail(
          ['workloads', i, 'calls', j],
          `calls "${c}", but no workload with a port defines Service ${key}`,
        );
    });
  });
  const checkObject = (ref: string, path: Path): void => {
    const [kind, a, b] = ref.split('/') as [string, string, string | undefined];
    if (kind === 'Node' && !nodes.has(a)) fail(path, `node "${a}" is not defined under nodes`);
    if (kind === 'Namespace' && !namespaces.has(a)) fail(path, `namespace "${a}" is not defined`);
    if (CLUSTER_SCOPED_KINDS.has(kind)) return;
    const key = `${a}/${b}`;
    if (kind === 'Service' && !services.has(key))
      fail(path, `Service ${key} is not defined (a workload with a port defines it)`);
    if (kind === 'Deployment' || kind === 'StatefulSet' || kind === 'DaemonSet') {
      const w = workloads.get(key);
      if (!w || w.kind !== kind) fail(path, `${kind} ${key} is not defined under workloads`);
    }
    if (kind === 'Pod') {
      const sts = [...workloads.values()].find(
        (w) => w.namespace === a && w.kind === 'StatefulSet' && new RegExp(`^${w.name}-\\d+$`).test(b ?? ''),
      );
      const fromFault = s.faults.some(
        (f) => f.kind === 'privileged_pod_created' && f.namespace === a && f.name === b,
      );
      if (!sts && !fromFault) {
        fail(
          path,
          `Pod ${key} has no stable name: only StatefulSet pods (<name>-<ordinal>) can be named; target the Deployment instead`,
        );
      }
    }
  };
  s.faults.forEach((f, i) => {
    if ('target' in f && f.target) checkObject(f.target, ['faults', i, 'target']);
    if (f.kind === 'ssh_bruteforce') {
      if (!f.target && !f.nodes?.length)
        fail(['faults', i], 'ssh_bruteforce needs a target Node/<name> or a list of nodes');
      f.nodes?.forEach((n, j) => {
        if (!nodes.has(n)) fail(['faults', i, 'nodes', j], `node "${n}" is not defined under nodes`);
      });
    }
    if (f.kind === 'privileged_pod_created' && !namespaces.has(f.namespace)) {
      fail(['faults', i, 'namespace'], `namespace "${f.namespace}" is not defined`);
    }
    if (f.kind === 'disk_fill' || f.kind === 'node_not_ready') {
      if (!f.target.startsWith('Node/')) fail(['faults', i, 'target'], `${f.kind} targets a Node/<name>`);
    }
    if (f.at > s.durationSeconds)
      fail(['faults', i, 'at'], `starts after the scenario ends (durationSeconds: ${s.durationSeconds})`);
  });
  checkObject(s.groundTruth.rootCause.object, ['groundTruth', 'rootCause', 'object']);
  const k = s.groundTruth.rootCause.kind;
  if (/^[a-z_]+$/.test(k) && !s.faults.some((f) => f.kind === k)) {
    fail(['groundTruth', 'rootCause', 'kind'], `no fault of kind ${k} is defined under faults`);
  }
}
