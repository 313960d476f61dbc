// Runs compiled rules over parsed events and emits Signals. Plain rules fire per matching event; threshold
// rules count (weighted) matches per group in a sliding window and fire once per episode (an episode ends
// when the group has been quiet for the window); an escalation fires once when its follow-up event (e.g. an
// accepted login) arrives from a group that crossed the threshold. All per-group state is LRU-bounded.

import { capEvidence, type Severity, type Signal, type Subject } from '../../../common/signal.ts';
import { BoundedMap } from './bounded-map.ts';
import { type FieldPath, parseFieldPath, resolveField } from './field-path.ts';
import type { CompiledRule, RuleSourceKind } from './rule-types.ts';

export interface RuleEngineOptions {
  /** Node name put on every signal's subject. */
  node?: string;
  /** Cap on tracked groups (e.g. source IPs) per threshold rule. */
  maxGroups?: number;
  /** Field that identifies one logical event seen in several stages (audit `auditID`): a rule fires once per value. */
  dedupeField?: string;
}

export interface EngineStats {
  events: number;
  signals: number;
  /** Threshold groups dropped to respect maxGroups. */
  evictedGroups: number;
}

interface GroupState {
  /** (time, weight) pairs, trimmed to the minimum that can still reach the threshold. */
  window: Array<[number, number]>;
  windowSum: number;
  /** Set while an episode is open (threshold crossed and not yet quiet for the window). */
  firedAtMs?: number;
  episodeCount: number;
  firstMs: number;
  lastMs: number;
  escalated: boolean;
  lines: string[];
  /** Distinct values of the rule's `fields` over the episode (e.g. every user name tried), capped. */
  fieldValues: Map<string, string[]>;
}

const SCORE: Record<Severity, number> = { info: 0.3, warning: 0.6, error: 0.8, critical: 0.95 };
const EVIDENCE_KEEP = 5;
const DISTINCT_VALUES_KEEP = 10;

export class RuleEngine {
  readonly #options: RuleEngineOptions;
  readonly #dedupe: FieldPath | undefined;
  readonly #seen = new BoundedMap<string, true>(20_000);
  #rules: readonly CompiledRule[] = [];
  #groups = new Map<string, BoundedMap<string, GroupState>>();
  readonly stats: EngineStats = { events: 0, signals: 0, evictedGroups: 0 };

  constructor(rules: readonly CompiledRule[], options: RuleEngineOptions = {}) {
    this.#options = options;
    this.#dedupe = options.dedupeField ? parseFieldPath(options.dedupeField) : undefined;
    this.setRules(rules);
  }

  /** Swaps the rules (hot reload); threshold state is kept for rules whose id survives. */
  setRules(rules: readonly CompiledRule[]): void {
    this.#rules = rules;
    const next = new Map<string, BoundedMap<string, GroupState>>();
    for (const rule of rules) {
      if (!rule.threshold) continue;
      next.set(rule.id, this.#groups.get(rule.id) ?? new BoundedMap(this.#options.maxGroups ?? 10_000));
    }
    this.#groups = next;
  }

  get rules(): readonly CompiledRule[] {
    return this.#rules;
  }

  /** Evaluates one parsed event; `line` is the raw text kept as evidence. */
  process(event: unknown, timeMs: number, line?: string): Signal[] {
    this.stats.events++;
    const out: Signal[] = [];
    const dedupeKey = this.#dedupe ? firstString(event, this.#dedupe) : undefined;
    for (const rule of this.#rules) {
      if (rule.escalate && rule.threshold) this.#checkEscalation(rule, event, timeMs, line, out);
      if (!rule.match(event)) continue;
      if (dedupeKey !== undefined) {
        const key = `${rule.id}\u0000${dedupeKey}`;
        if (this.#seen.has(key)) continue;
        this.#seen.set(key, true);
      }
      if (rule.threshold) this.#count(rule, event, timeMs, line, out);
      else out.push(this.#signal(rule, event, timeMs, line ? [line] : [], 1));
    }
    this.stats.signals += out.length;
    return out;
  }

  #count(rule: CompiledRule, event: unknown, timeMs: number, line: string | undefined, out: Signal[]): void {
    const threshold = rule.threshold!;
    const groupKey = firstString(event, threshold.groupBy);
    if (groupKey === undefined) return;
    const weight = threshold.weight ? (firstNumber(event, threshold.weight) ?? 1) : 1;
    if (weight <= 0) return;
    const groups = this.#groups.get(rule.id)!;
    let state = groups.get(groupKey);
    if (state && state.firedAtMs !== undefined && timeMs - state.lastMs > threshold.withinMs) {
      // The previous episode went quiet for a whole window: start a new one.
      state = undefined;
    }
    if (!state) {
      state = {
        window: [],
        windowSum: 0,
        episodeCount: 0,
        firstMs: timeMs,
        lastMs: timeMs,
        escalated: false,
        lines: [],
        fieldValues: new Map(),
      };
      const before = groups.evicted;
      groups.set(groupKey, state);
      this.stats.evictedGroups += groups.evicted - before;
    }
    state.lastMs = Math.max(state.lastMs, timeMs);
    state.episodeCount += weight;
    if (line && state.lines.length < EVIDENCE_KEEP) state.lines.push(line);
    collectFieldValues(rule, event, state.fieldValues);
    if (state.firedAtMs !== undefined) return;

    state.window.push([timeMs, weight]);
    state.windowSum += weight;
    const horizon = timeMs - threshold.withinMs;
    while (state.window.length > 0) {
      const [t, w] = state.window[0]!;
      // Drop what fell out of the window, and old entries not needed to reach the count.
      if (t < horizon || state.windowSum - w >= threshold.count) {
        state.window.shift();
        state.windowSum -= w;
      } else break;
    }
    if (state.window.length === 0) state.firstMs = timeMs;
    else state.firstMs = Math.min(state.firstMs, state.window[0]![0]);
    if (state.windowSum >= threshold.count) {
      state.firedAtMs = timeMs;
      state.episodeCount = state.windowSum;
      out.push(
        this.#signal(
          rule,
          event,
          timeMs,
          state.lines,
          state.windowSum,
          groupKey,
          state.firstMs,
          state.fieldValues,
        ),
      );
    } else if (state.windowSum === weight) {
      // Fresh window: restart the episode counters and evidence from this event.
      state.episodeCount = weight;
      state.lines = line ? [line] : [];
      state.firstMs = timeMs;
      state.fieldValues = new Map();
      collectFieldValues(rule, event, state.fieldValues);
    }
  }

  #checkEscalation(
    rule: CompiledRule,
    event: unknown,
    timeMs: number,
    line: string | undefined,
    out: Signal[],
  ): void {
    const escalation = rule.escalate!;
    if (!escalation.match(event)) return;
    const groupKey = firstString(event, rule.threshold!.groupBy);
    if (groupKey === undefined) return;
    const state = this.#groups.get(rule.id)?.get(groupKey);
    if (!state || state.firedAtMs === undefined || state.escalated) return;
    if (timeMs - state.lastMs > escalation.withinMs) return;
    state.escalated = true;
    const lines = line ? [...state.lines.slice(0, EVIDENCE_KEEP - 1), line] : state.lines;
    const signal = this.#signal(rule, event, timeMs, lines, state.episodeCount, groupKey, state.firstMs);
    signal.kind = escalation.kind;
    signal.severity = escalation.severity;
    signal.score = SCORE[escalation.severity];
    signal.technique = escalation.technique;
    signal.explanation = `${escalation.title}: ${signal.explanation}`;
    signal.evidence!.attributes!['rule'] = escalation.id;
    out.push(signal);
  }

  #signal(
    rule: CompiledRule,
    event: unknown,
    timeMs: number,
    lines: string[],
    count: number,
    groupKey?: string,
    firstMs?: number,
    episodeValues?: ReadonlyMap<string, string[]>,
  ): Signal {
    const attributes: Record<string, string> = { rule: rule.id };
    for (const [name, path] of rule.fields) {
      // A threshold signal reports what the whole episode saw (all users tried), else this event's values.
      const values = episodeValues?.get(name) ?? resolveField(event, path).map(display);
      if (values.length > 0) attributes[name] = values.join(',').slice(0, 256);
    }
    const subjectName = groupKey ?? firstString(event, rule.subject.field);
    const subject: Subject = { kind: rule.subject.kind };
    if (this.#options.node !== undefined) subject.node = this.#options.node;
    const hint = (event as { subjectHint?: Partial<Subject> } | null)?.subjectHint;
    if (hint) Object.assign(subject, hint, { kind: rule.subject.kind });
    if (subjectName !== undefined) {
      if (rule.subject.kind === 'container') subject.container ??= subjectName;
      else if (rule.subject.kind === 'pod') subject.pod ??= subjectName;
      else subject.name = subjectName;
    }
    const values: Record<string, number> = { count };
    if (firstMs !== undefined) values['firstMs'] = firstMs;
    const explanation = rule.output
      ? rule.output.replace(/\{(\w+)\}/g, (_, name: string) => attributes[name] ?? '<none>')
      : `${rule.title}${subjectName ? ` (${subjectName})` : ''}${count > 1 ? `: ${count} events` : ''}`;
    return {
      kind: rule.kind,
      subject,
      timeMs,
      severity: rule.severity,
      score: SCORE[rule.severity],
      explanation,
      evidence: capEvidence({ lines: [...lines], values, attributes }),
      technique: rule.technique,
      source: `security.${sourceName(rule.source)}`,
    };
  }
}

function collectFieldValues(rule: CompiledRule, event: unknown, into: Map<string, string[]>): void {
  for (const [name, path] of rule.fields) {
    const seen = into.get(name) ?? [];
    if (seen.length >= DISTINCT_VALUES_KEEP) continue;
    for (const v of resolveField(event, path)) {
      const text = display(v);
      if (!seen.includes(text) && seen.length < DISTINCT_VALUES_KEEP) seen.push(text);
    }
    into.set(name, seen);
  }
}

function sourceName(source: RuleSourceKind): string {
  return source === 'k8s_audit' ? 'audit' : source;
}

function display(v: unknown): string {
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}

function firstString(event: unknown, path: FieldPath): string | undefined {
  const v = resolveField(event, path)[0];
  return v === undefined ? undefined : display(v);
}

function firstNumber(event: unknown, path: FieldPath): number | undefined {
  const v = resolveField(event, path)[0];
  return typeof v === 'number' ? v : undefined;
}
