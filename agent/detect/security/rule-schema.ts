// The YAML rule-file format, validated with zod. A file is validated in layers so that one bad rule is
// reported with its id and reason while the file's other rules still load. Full format: docs/security-rules.md.

import { z } from 'zod';
import { SEVERITIES } from '../../../common/signal.ts';
import { parseDurationMs } from './duration.ts';
import { RULE_SOURCES } from './rule-types.ts';

const duration = z.union([z.string(), z.number()]).refine((v) => parseDurationMs(v) !== undefined, {
  message: "must be a duration such as '30s', '10m', '1h'",
});

const scalar = z.union([z.string(), z.number(), z.boolean()]);

export const RULE_ID = /^[a-z0-9][a-z0-9._-]{0,79}$/;
const ruleId = z.string().regex(RULE_ID, 'must be lower-case letters, digits, ".", "_" or "-" (max 80)');
const technique = z
  .string()
  .regex(/^T\d{4}(\.\d{3})?$/, 'must be a MITRE ATT&CK id such as T1110 or T1110.001');
const severity = z.enum(SEVERITIES as [string, ...string[]]);

/** The header of a rule file; `rules`, `lists` and `macros` entries are checked one by one afterwards. */
export const ruleFileSchema = z.strictObject({
  source: z.enum(RULE_SOURCES as [string, ...string[]]),
  description: z.string().optional(),
  lists: z
    .record(z.string().regex(/^[A-Za-z_][\w-]*$/, 'list names are identifiers'), z.array(scalar))
    .optional(),
  macros: z
    .record(z.string().regex(/^[A-Za-z_][\w-]*$/, 'macro names are identifiers'), z.unknown())
    .optional(),
  rules: z.array(z.unknown()).optional(),
});

export const ruleSchema = z.strictObject({
  id: ruleId,
  title: z.string().min(1),
  description: z.string().optional(),
  severity,
  technique,
  kind: z
    .string()
    .regex(/^[a-z][a-z0-9_.]*$/)
    .optional(),
  enabled: z.boolean().optional(),
  falco: z.string().optional(),
  condition: z.unknown().refine((v) => v !== undefined, { message: 'is required' }),
  subject: z
    .strictObject({
      kind: z.enum(['node', 'pod', 'container', 'workload', 'service', 'source', 'user', 'object']),
      field: z.string(),
    })
    .optional(),
  fields: z.record(z.string(), z.string()).optional(),
  output: z.string().optional(),
  threshold: z
    .strictObject({
      count: z.number().int().min(1),
      within: duration,
      groupBy: z.string(),
      weight: z.string().optional(),
    })
    .optional(),
  escalate: z
    .strictObject({
      id: ruleId,
      title: z.string().min(1),
      severity,
      technique: technique.optional(),
      when: z.unknown(),
      within: duration,
    })
    .optional(),
});

/** `{ id, enabled: false }` in a later file switches a shipped rule off without restating it. */
export const ruleToggleSchema = z.strictObject({ id: ruleId, enabled: z.literal(false) });

export type RuleFile = z.infer<typeof ruleFileSchema>;
export type RuleDoc = z.infer<typeof ruleSchema>;

/** One line per zod issue, path first: `threshold.count: Too small: expected number to be >=1`. */
export function describeZodError(error: z.ZodError): string {
  return error.issues
    .map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ${issue.message}` : issue.message))
    .join('; ');
}
