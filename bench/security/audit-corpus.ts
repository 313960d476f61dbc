// Scores the shipped k8s_audit rules against the labelled audit corpus (test/fixtures/security/audit):
// per rule, the requests it should fire on and did (hits), should have and did not (misses), and fired on
// without a label (false positives). Each corpus file runs through a fresh detector, baseline off.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createAuditLogDetector } from '../../agent/detect/security/log-detector.ts';
import type { RuleSet } from '../../agent/detect/security/rule-types.ts';

export const AUDIT_CORPUS_DIR = fileURLToPath(
  new URL('../../test/fixtures/security/audit/', import.meta.url),
);

export interface RuleScore {
  rule: string;
  positives: number;
  /** Near-miss requests written for this rule (in its own corpus file) that must not fire it. */
  negatives: number;
  hits: number;
  misses: number;
  falsePositives: number;
  /** auditIDs of misses and false positives, for debugging. */
  missed: string[];
  falselyFlagged: string[];
}

export function evaluateAuditCorpus(ruleSet: RuleSet, dir: string = AUDIT_CORPUS_DIR): RuleScore[] {
  const labels = JSON.parse(readFileSync(join(dir, 'labels.json'), 'utf8')) as Record<string, string[]>;
  const fired = new Map<string, Set<string>>();
  const fileOf = new Map<string, string>();
  for (const name of readdirSync(dir).sort()) {
    if (!name.endsWith('.jsonl')) continue;
    const detector = createAuditLogDetector(ruleSet, { baseline: false });
    for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const auditID = (JSON.parse(line) as { auditID: string }).auditID;
      fileOf.set(auditID, name.replace(/\.jsonl$/, ''));
      for (const signal of detector.processLine(line)) {
        const rule = signal.evidence?.attributes?.['rule'] ?? signal.kind;
        const set = fired.get(auditID) ?? new Set<string>();
        set.add(rule);
        fired.set(auditID, set);
      }
    }
  }
  const rules = ruleSet.rules.filter((r) => r.source === 'k8s_audit').map((r) => r.id);
  return rules.map((rule) => {
    const score: RuleScore = {
      rule,
      positives: 0,
      negatives: 0,
      hits: 0,
      misses: 0,
      falsePositives: 0,
      missed: [],
      falselyFlagged: [],
    };
    for (const [auditID, expected] of Object.entries(labels)) {
      const want = expected.includes(rule);
      const got = fired.get(auditID)?.has(rule) ?? false;
      if (want) score.positives++;
      else if (fileOf.get(auditID) === rule) score.negatives++;
      if (want && got) score.hits++;
      if (want && !got) {
        score.misses++;
        score.missed.push(auditID);
      }
      if (!want && got) {
        score.falsePositives++;
        score.falselyFlagged.push(auditID);
      }
    }
    return score;
  });
}
