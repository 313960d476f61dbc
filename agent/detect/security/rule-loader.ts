// Loads rule files and directories into a RuleSet. Files are read in the order given (a directory's *.yaml
// files in name order); lists, macros and rules with the same name/id in a later file replace the earlier
// ones, which is how user files customise the shipped allow-lists. Every problem becomes a RuleLoadError
// naming the file, the rule id and the reason; everything else still loads.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { Severity, SubjectKind } from '../../../common/signal.ts';
import { type ConditionContext, ConditionError, compileCondition, type Scalar } from './condition.ts';
import { parseDurationMs } from './duration.ts';
import { type FieldPath, parseFieldPath } from './field-path.ts';
import {
  describeZodError,
  RULE_ID,
  type RuleDoc,
  ruleFileSchema,
  ruleSchema,
  ruleToggleSchema,
} from './rule-schema.ts';
import type { CompiledRule, RuleLoadError, RuleSet, RuleSourceKind } from './rule-types.ts';

/** The rules shipped in the repository (`rules/*.yaml`). */
export const SHIPPED_RULES_DIR = fileURLToPath(new URL('../../../rules/', import.meta.url));

const DEFAULT_SUBJECT: Record<RuleSourceKind, { kind: SubjectKind; field: string }> = {
  auth: { kind: 'source', field: 'source' },
  k8s_audit: { kind: 'object', field: 'derived.object' },
  runtime: { kind: 'container', field: 'container.id' },
};

interface ParsedFile {
  file: string;
  source: RuleSourceKind;
  rules: Array<{ doc: RuleDoc; index: number } | { toggleId: string }>;
}

/** Expands files and directories to the list of rule files, in load order. */
export function listRuleFiles(paths: readonly string[]): { files: string[]; errors: RuleLoadError[] } {
  const files: string[] = [];
  const errors: RuleLoadError[] = [];
  for (const path of paths) {
    try {
      if (statSync(path).isDirectory()) {
        for (const name of readdirSync(path).sort()) {
          if (/\.ya?ml$/.test(name)) files.push(join(path, name));
        }
      } else {
        files.push(path);
      }
    } catch (err) {
      errors.push({ file: path, reason: `cannot read: ${(err as Error).message}` });
    }
  }
  return { files, errors };
}

/** Loads and compiles rules; never throws for bad content (see RuleSet.errors). */
export function loadRuleSet(paths: readonly string[] = [SHIPPED_RULES_DIR]): RuleSet {
  const { files, errors } = listRuleFiles(paths);
  const parsed: ParsedFile[] = [];
  const lists = new Map<RuleSourceKind, Map<string, Scalar[]>>();
  const macros = new Map<RuleSourceKind, Map<string, unknown>>();

  for (const file of files) {
    let raw: unknown;
    try {
      raw = parseYaml(readFileSync(file, 'utf8'));
    } catch (err) {
      errors.push({ file, reason: `not valid YAML: ${(err as Error).message.split('\n')[0]}` });
      continue;
    }
    const header = ruleFileSchema.safeParse(raw);
    if (!header.success) {
      errors.push({ file, reason: `not a rule file: ${describeZodError(header.error)}` });
      continue;
    }
    const source = header.data.source as RuleSourceKind;
    const fileLists = lists.get(source) ?? new Map<string, Scalar[]>();
    lists.set(source, fileLists);
    for (const [name, items] of Object.entries(header.data.lists ?? {})) fileLists.set(name, items);
    const fileMacros = macros.get(source) ?? new Map<string, unknown>();
    macros.set(source, fileMacros);
    for (const [name, node] of Object.entries(header.data.macros ?? {})) fileMacros.set(name, node);

    const entry: ParsedFile = { file, source, rules: [] };
    for (const [index, rawRule] of (header.data.rules ?? []).entries()) {
      const toggle = ruleToggleSchema.safeParse(rawRule);
      if (toggle.success) {
        entry.rules.push({ toggleId: toggle.data.id });
        continue;
      }
      const rule = ruleSchema.safeParse(rawRule);
      if (!rule.success) {
        errors.push({ file, ruleId: guessId(rawRule, index), reason: describeZodError(rule.error) });
        continue;
      }
      entry.rules.push({ doc: rule.data, index });
    }
    parsed.push(entry);
  }

  // Lists may splice other lists (`$name`), resolved once all files are read so user files can override.
  for (const [source, sourceLists] of lists) {
    const resolved = resolveLists(sourceLists, source, errors, parsed);
    lists.set(source, resolved);
  }

  const byId = new Map<string, CompiledRule>();
  for (const entry of parsed) {
    const ctx: ConditionContext = {
      lists: lists.get(entry.source) ?? new Map(),
      macros: macros.get(entry.source) ?? new Map(),
    };
    for (const item of entry.rules) {
      if ('toggleId' in item) {
        byId.delete(item.toggleId);
        continue;
      }
      if (item.doc.enabled === false) {
        byId.delete(item.doc.id);
        continue;
      }
      try {
        const compiled = compileRule(item.doc, entry.source, entry.file, ctx);
        byId.delete(compiled.id);
        byId.set(compiled.id, compiled);
      } catch (err) {
        errors.push({ file: entry.file, ruleId: item.doc.id, reason: (err as Error).message });
      }
    }
  }
  return { rules: [...byId.values()], errors, files };
}

function guessId(raw: unknown, index: number): string {
  if (raw && typeof raw === 'object' && 'id' in raw) {
    const id = (raw as { id: unknown }).id;
    if (typeof id === 'string' && id.length > 0) return id.slice(0, 80);
  }
  return `#${index + 1}`;
}

function resolveLists(
  raw: Map<string, Scalar[]>,
  source: RuleSourceKind,
  errors: RuleLoadError[],
  parsed: ParsedFile[],
): Map<string, Scalar[]> {
  const out = new Map<string, Scalar[]>();
  const visiting = new Set<string>();
  const file = parsed.find((p) => p.source === source)?.file ?? '(lists)';
  const resolve = (name: string): Scalar[] => {
    const done = out.get(name);
    if (done) return done;
    const items = raw.get(name);
    if (!items) return [];
    if (visiting.has(name)) {
      errors.push({ file, reason: `list '${name}' includes itself` });
      return [];
    }
    visiting.add(name);
    const flat: Scalar[] = [];
    for (const item of items) {
      if (typeof item === 'string' && item.startsWith('$') && raw.has(item.slice(1)))
        flat.push(...resolve(item.slice(1)));
      else flat.push(item);
    }
    visiting.delete(name);
    out.set(name, flat);
    return flat;
  };
  for (const name of raw.keys()) resolve(name);
  return out;
}

function path(text: string, at: string): FieldPath {
  try {
    return parseFieldPath(text);
  } catch (err) {
    throw new ConditionError(at, (err as Error).message);
  }
}

function compileRule(
  doc: RuleDoc,
  source: RuleSourceKind,
  file: string,
  ctx: ConditionContext,
): CompiledRule {
  const subjectDoc = doc.subject ?? DEFAULT_SUBJECT[source];
  const fields = Object.entries(doc.fields ?? {}).map(
    ([name, text]) => [name, path(text, `fields.${name}`)] as const,
  );
  if (doc.output) {
    for (const match of doc.output.matchAll(/\{(\w+)\}/g)) {
      if (!fields.some(([name]) => name === match[1])) {
        throw new ConditionError('output', `placeholder {${match[1]}} is not in fields`);
      }
    }
  }
  const rule: CompiledRule = {
    id: doc.id,
    title: doc.title,
    severity: doc.severity as Severity,
    technique: doc.technique,
    kind: doc.kind ?? `security.${doc.id.replace(/[-.]/g, '_')}`,
    source,
    file,
    match: compileCondition(doc.condition, ctx),
    subject: { kind: subjectDoc.kind, field: path(subjectDoc.field, 'subject.field') },
    fields,
  };
  if (doc.description !== undefined) rule.description = doc.description;
  if (doc.falco !== undefined) rule.falco = doc.falco;
  if (doc.output !== undefined) rule.output = doc.output;
  if (doc.threshold) {
    rule.threshold = {
      count: doc.threshold.count,
      withinMs: parseDurationMs(doc.threshold.within) ?? 0,
      groupBy: path(doc.threshold.groupBy, 'threshold.groupBy'),
    };
    if (doc.threshold.weight !== undefined)
      rule.threshold.weight = path(doc.threshold.weight, 'threshold.weight');
  }
  if (doc.escalate) {
    if (!doc.threshold)
      throw new ConditionError('escalate', 'needs a threshold (escalation follows a threshold hit)');
    if (!RULE_ID.test(doc.escalate.id)) throw new ConditionError('escalate.id', 'bad id');
    rule.escalate = {
      id: doc.escalate.id,
      title: doc.escalate.title,
      kind: `security.${doc.escalate.id.replace(/[-.]/g, '_')}`,
      severity: doc.escalate.severity as Severity,
      technique: doc.escalate.technique ?? doc.technique,
      match: compileCondition(doc.escalate.when, ctx, 'escalate.when'),
      withinMs: parseDurationMs(doc.escalate.within) ?? 0,
    };
  }
  return rule;
}
