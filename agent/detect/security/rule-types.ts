// The compiled form of a rule (what the engine runs). The YAML form and its validation live in
// rule-schema.ts; the loader turns one into the other.

import type { Severity, SubjectKind } from '../../../common/signal.ts';
import type { Predicate } from './condition.ts';
import type { FieldPath } from './field-path.ts';

/** Which parsed event stream a rule applies to. */
export type RuleSourceKind = 'auth' | 'k8s_audit' | 'runtime';
export const RULE_SOURCES: readonly RuleSourceKind[] = ['auth', 'k8s_audit', 'runtime'];

export interface CompiledThreshold {
  count: number;
  withinMs: number;
  groupBy: FieldPath;
  /** Numeric field giving how much one event counts (e.g. `message repeated 5 times` counts 5). */
  weight?: FieldPath;
}

export interface CompiledEscalation {
  id: string;
  title: string;
  kind: string;
  severity: Severity;
  technique: string;
  match: Predicate;
  withinMs: number;
}

export interface CompiledRule {
  id: string;
  title: string;
  description?: string;
  severity: Severity;
  technique: string;
  /** Signal kind, e.g. `security.ssh_bruteforce`. */
  kind: string;
  source: RuleSourceKind;
  /** File the rule was loaded from (last definition wins when ids repeat). */
  file: string;
  /** Name of the Falco rule this one corresponds to, for the docs. */
  falco?: string;
  match: Predicate;
  subject: { kind: SubjectKind; field: FieldPath };
  fields: ReadonlyArray<readonly [string, FieldPath]>;
  output?: string;
  threshold?: CompiledThreshold;
  escalate?: CompiledEscalation;
}

/** A rule or file that could not be loaded; the other rules keep working. */
export interface RuleLoadError {
  file: string;
  /** Absent when the whole file is unreadable or is not a rule file. */
  ruleId?: string;
  reason: string;
}

export interface RuleSet {
  readonly rules: readonly CompiledRule[];
  readonly errors: readonly RuleLoadError[];
  readonly files: readonly string[];
}

export function formatRuleLoadError(error: RuleLoadError): string {
  return error.ruleId === undefined
    ? `${error.file}: ${error.reason}`
    : `${error.file}: rule '${error.ruleId}': ${error.reason}`;
}
