// Remediation policies (YAML): guardrail settings, a mode per action type, and rules that map incident /
// root-cause patterns to an escalation ladder of actions. Validated once at load; an invalid file fails
// with the path of the bad field and its value.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import type { Incident, RootCauseCandidate } from '../correlate/incident.ts';
import { ACTION_TYPES, type ActionType, type Mode } from './action.ts';

const mode = z.enum(['off', 'dry-run', 'approve', 'auto']);
const actionType = z.enum(ACTION_TYPES);

const guardrailsSchema = z
  .object({
    /** Namespaces never touched; `*` globs allowed (`*-system`). */
    protectedNamespaces: z.array(z.string().min(1)).default(['kube-system', '*-system']),
    /** Nodes with any of these labels are never cordoned or drained. */
    protectedNodeLabels: z.array(z.string().min(1)).default(['node-role.kubernetes.io/control-plane']),
    /** `key=value`: a pod or node carrying it is left alone. */
    optOutLabel: z
      .string()
      .regex(/^[^=]+=.*$/)
      .default('vigil.io/remediation=off'),
    cooldownSeconds: z.number().nonnegative().default(600),
    rateLimit: z
      .object({ actions: z.number().int().positive(), perSeconds: z.number().positive() })
      .default({ actions: 5, perSeconds: 300 }),
    /** At most this many pods disrupted by one action (a drain, a rollout restart). */
    maxPodsPerAction: z.number().int().positive().default(50),
    maxActionsPerIncident: z.number().int().positive().default(3),
    /** No disruptive action when fewer than this fraction of a workload's other pods (or of the other nodes) is healthy. */
    minHealthyFraction: z.number().min(0).max(1).default(0.51),
    approvalTimeoutSeconds: z.number().positive().default(900),
    /** How long after an action the incident's signals must stay quiet to count as healed. */
    verifySeconds: z.number().positive().default(120),
  })
  .strict();

const ruleSchema = z
  .object({
    name: z.string().min(1),
    match: z
      .object({
        /** Root-cause kinds (top candidate), e.g. `[oom_kill, memory_leak]`. */
        kinds: z.array(z.string().min(1)).min(1),
        /** Regular expression on the root-cause object, e.g. `^Deployment/`. */
        object: z.string().optional(),
        /** Minimum root-cause score. */
        minScore: z.number().min(0).max(1).default(0),
        severities: z.array(z.enum(['info', 'warning', 'error', 'critical'])).optional(),
      })
      .strict(),
    /** Escalation ladder: the next action runs only when the previous one did not heal the incident. */
    actions: z
      .array(
        z
          .object({
            type: actionType,
            params: z.record(z.string(), z.string()).default({}),
            mode: mode.optional(),
          })
          .strict(),
      )
      .min(1),
  })
  .strict();

export const policySchema = z
  .object({
    apiVersion: z.literal('vigil.io/v1').default('vigil.io/v1'),
    kind: z.literal('RemediationPolicy').default('RemediationPolicy'),
    /** Mode for action types not listed in `modes`. */
    defaultMode: mode.default('dry-run'),
    modes: z.partialRecord(actionType, mode).default({}),
    guardrails: guardrailsSchema.default(guardrailsSchema.parse({})),
    rules: z.array(ruleSchema).default([]),
  })
  .strict();

export type Policy = z.infer<typeof policySchema>;
export type PolicyRule = Policy['rules'][number];
export type Guardrails = Policy['guardrails'];

export class PolicyError extends Error {
  override readonly name = 'PolicyError';
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
    this.file = file;
  }
}

export function parsePolicy(text: string, file = '<policy>'): Policy {
  let doc: unknown;
  try {
    doc = parse(text) ?? {};
  } catch (error) {
    throw new PolicyError(file, `not valid YAML: ${(error as Error).message}`, { cause: error });
  }
  const result = policySchema.safeParse(doc);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue?.path.join('.') || '(root)';
    let value: unknown = doc;
    for (const key of issue?.path ?? [])
      value = (value as Record<PropertyKey, unknown> | undefined)?.[key as PropertyKey];
    throw new PolicyError(file, `${path}: ${issue?.message ?? 'invalid'} (value: ${JSON.stringify(value)})`);
  }
  for (const [i, rule] of result.data.rules.entries()) {
    if (rule.match.object === undefined) continue;
    try {
      new RegExp(rule.match.object);
    } catch {
      throw new PolicyError(
        file,
        `rules.${i}.match.object: not a regular expression (value: "${rule.match.object}")`,
      );
    }
  }
  return result.data;
}

export function loadPolicy(file: string): Policy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new PolicyError(file, `cannot read: ${(error as Error).message}`, { cause: error });
  }
  return parsePolicy(text, file);
}

export function modeFor(policy: Policy, type: ActionType, override?: Mode): Mode {
  const base = policy.modes[type] ?? policy.defaultMode;
  if (!override) return base;
  // A rule may make an action more careful than the policy's mode for its type, never bolder.
  const order: Mode[] = ['off', 'dry-run', 'approve', 'auto'];
  return order.indexOf(override) < order.indexOf(base) ? override : base;
}

/** The first rule whose pattern matches the incident's top root cause. */
export function matchRule(
  policy: Policy,
  incident: Incident,
): { rule: PolicyRule; cause: RootCauseCandidate } | undefined {
  const cause = incident.rootCauses[0];
  if (!cause) return undefined;
  for (const rule of policy.rules) {
    const m = rule.match;
    if (!m.kinds.includes(cause.kind) && !m.kinds.includes('*')) continue;
    if (m.object !== undefined && !new RegExp(m.object).test(cause.object)) continue;
    if (cause.score < m.minScore) continue;
    if (m.severities && !m.severities.includes(incident.severity)) continue;
    return { rule, cause };
  }
  return undefined;
}
