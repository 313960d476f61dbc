// The aggregator's half of the per-node summary dictionary (docs/summaries.md): series and log-stream
// definitions by ref, and each series' last value, per node and epoch. `expand` turns a packed summary back
// into full digests and subjects, so everything after the gateway (node registry, incidents, the integration
// API, stored summaries) sees the same Summary as before packing. The state is persisted in the aggregator's
// LMDB in the same transaction as the batch that changed it, so an aggregator restart still resolves refs.
// A ref that cannot be resolved is counted (in the summary's drop counters too) and never throws.
// Log template texts are held per stream ref the same way: each expanded log stream names the text of every
// template it counts; a count of a template whose text the aggregator never got stays, counted unresolved.
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { Database, RootDatabase } from 'lmdb';
import { unpackCounts } from '../../common/packed-counts.ts';
import { lineOf } from '../../common/template-exemplars.ts';
import {
  DropReportSchema,
  type MetricDigest,
  MetricDigestSchema,
  type SeriesDef,
  SeriesDefSchema,
  type StreamDef,
  StreamDefSchema,
  type Summary,
  TemplateCountSchema,
  TemplateDefSchema,
} from '../../proto/gen/vigil/v1/summary_pb.js';

/** The drop counter an expanded summary carries when some of its refs could not be resolved. */
export const UNRESOLVED_COUNTER = 'dictionary.unresolved_refs';
/** The drop counter for counted template ids whose text the aggregator does not hold (the counts stay). */
export const UNRESOLVED_TEMPLATES_COUNTER = 'dictionary.unresolved_templates';

interface SeriesState {
  def: SeriesDef;
  /** `def` encoded, as stored: a series' last value changes every batch, its definition rarely. */
  defBytes: Uint8Array;
  /** The series' last value as of the latest batch that listed it (NaN: never listed). */
  last: number;
}

interface NodeDictionary {
  epoch: number;
  series: Map<number, SeriesState>;
  streams: Map<number, StreamDef>;
  /** Template texts by stream ref, then template id. */
  templates: Map<number, Map<string, string>>;
}

// Keys: [node, 0, 0] → epoch; [node, 1, ref] → series {d: SeriesDef bytes, l: last}; [node, 2, ref] → StreamDef
// bytes; [node, 3, stream ref, template id] → template text.
type Key = [string, number, number] | [string, number, number, string];
const EPOCH = 0;
const SERIES = 1;
const STREAM = 2;
const TEMPLATE = 3;
const END = 4;

export interface Expansion {
  /** Refs (series, streams, unchanged values) this summary used that the dictionary does not hold. */
  unresolved: number;
  /** Counted template ids whose text the dictionary does not hold (their counts are kept). */
  unresolvedTemplates: number;
  /** Persists what the expansion changed; call inside the transaction that stores the batch. */
  persist: () => void;
}

export class NodeDictionaries {
  private readonly db: Database<unknown, Key> | undefined;
  private readonly nodes = new Map<string, NodeDictionary>();

  /** Without a root, the dictionaries live in memory only (tests, tools). */
  constructor(root?: RootDatabase) {
    this.db = root?.openDB<unknown, Key>({ name: 'summary-dictionaries', encoding: 'msgpack' });
  }

  /** The node's dictionary epoch (0: none yet). */
  epochOf(node: string): number {
    return this.load(node).epoch;
  }

  /**
   * Resolves a summary's refs in place: `metrics` gets the full digests (sorted by ref), each log stream its
   * subject and stream name; the packed fields are cleared. Summaries without an epoch pass through.
   */
  expand(node: string, summary: Summary): Expansion {
    const epoch = summary.dictionaryEpoch;
    if (epoch === 0) return { unresolved: 0, unresolvedTemplates: 0, persist: () => {} };
    let dict = this.load(node);
    let cleared = false;
    if (dict.epoch !== epoch) {
      // Sequences only go up and epochs only change forward, so the old epoch's batches are all behind us.
      dict = { epoch, series: new Map(), streams: new Map(), templates: new Map() };
      this.nodes.set(node, dict);
      cleared = true;
    }
    const changedSeries = new Set<number>();
    const changedStreams = new Set<number>();
    const changedTemplates: Array<[number, string, string]> = [];
    let unresolved = 0;
    let unresolvedTemplates = 0;

    for (const def of summary.seriesDefs) {
      const known = dict.series.get(def.ref);
      dict.series.set(def.ref, {
        def,
        defBytes: toBinary(SeriesDefSchema, def),
        last: known?.last ?? Number.NaN,
      });
      changedSeries.add(def.ref);
    }
    for (const def of summary.streamDefs) {
      dict.streams.set(def.ref, def);
      changedStreams.add(def.ref);
    }

    const digests: Array<{ ref: number; digest: MetricDigest }> = [];
    const digestOf = (
      def: SeriesDef,
      v: { min: number; max: number; mean: number; last: number },
      count: number,
    ) =>
      create(MetricDigestSchema, {
        name: def.name,
        ...(def.subject ? { subject: def.subject } : {}),
        labels: def.labels,
        capacity: def.capacity,
        ...v,
        count,
      });
    const p = summary.packedMetrics;
    if (p) {
      let ref = 0;
      let at = 0;
      p.refs.forEach((code, i) => {
        ref += code >>> 1;
        const flat = (code & 1) === 1;
        const n = flat ? 1 : 4;
        const vals = p.values.slice(at, at + n);
        at += n;
        const state = dict.series.get(ref);
        if (!state || vals.length < n) {
          unresolved++;
          return;
        }
        const [a = 0, b = a, c = a, d = a] = vals;
        const v = flat ? { min: a, max: a, mean: a, last: a } : { min: a, max: b, mean: c, last: d };
        state.last = v.last;
        changedSeries.add(ref);
        digests.push({ ref, digest: digestOf(state.def, v, p.counts[i] ?? p.count) });
      });
      let end = 0;
      for (let i = 0; i + 1 < p.unchanged.length; i += 2) {
        const start = end + p.unchanged[i]!;
        end = start + p.unchanged[i + 1]!;
        // A run longer than the dictionary cannot all resolve; do not walk it (a bad peer's billion refs).
        if (end - start > dict.series.size) {
          unresolved += end - start;
          continue;
        }
        for (let r = start; r < end; r++) {
          const state = dict.series.get(r);
          if (!state || Number.isNaN(state.last)) {
            unresolved++;
            continue;
          }
          const x = state.last;
          digests.push({
            ref: r,
            digest: digestOf(state.def, { min: x, max: x, mean: x, last: x }, p.count),
          });
        }
      }
    }
    if (digests.length > 0) {
      digests.sort((a, b) => a.ref - b.ref);
      summary.metrics = [...summary.metrics, ...digests.map((d) => d.digest)];
    }

    // Texts that refer to an earlier TemplateDef of this summary, by position over every stream in order.
    const positions: Array<string | undefined> = [];
    for (const l of summary.logs) {
      const kept = [];
      for (const t of l.templates) {
        const text = t.sameAs > 0 ? positions[t.sameAs - 1] : t.text;
        positions.push(text);
        if (text === undefined) {
          unresolvedTemplates++;
          continue;
        }
        t.text = text;
        t.sameAs = 0;
        kept.push(t);
      }
      l.templates = kept;
    }

    const logs = [];
    for (const l of summary.logs) {
      if (l.streamRef === 0) {
        logs.push(l);
        continue;
      }
      const def = dict.streams.get(l.streamRef);
      if (!def) {
        unresolved++;
        continue;
      }
      if (def.subject) l.subject = def.subject;
      l.stream = def.stream;
      // Texts: keep what came, then name every counted template the batch did not define.
      let texts = dict.templates.get(l.streamRef);
      if (!texts) {
        texts = new Map();
        dict.templates.set(l.streamRef, texts);
      }
      for (const t of l.templates) {
        if (texts.get(t.id) === t.text) continue;
        texts.set(t.id, t.text);
        changedTemplates.push([l.streamRef, t.id, t.text]);
      }
      if (l.packedCounts.length > 0) {
        for (const c of unpackCounts(l.packedCounts)) l.counts.push(create(TemplateCountSchema, c));
        l.packedCounts = [];
      }
      if (l.lines === 0n) l.lines = BigInt(l.counts.reduce((n, c) => n + c.count, 0));
      for (const x of l.templateExemplars) {
        const text = texts.get(x.templateId);
        const line = text === undefined ? undefined : lineOf(text, x.params);
        if (line === undefined) unresolvedTemplates++;
        else l.exemplars.push(line);
      }
      l.templateExemplars = [];
      const named = new Set(l.templates.map((t) => t.id));
      for (const c of l.counts) {
        if (named.has(c.templateId)) continue;
        named.add(c.templateId);
        const text = texts.get(c.templateId);
        if (text === undefined) unresolvedTemplates++;
        else l.templates.push(create(TemplateDefSchema, { id: c.templateId, text }));
      }
      l.streamRef = 0;
      logs.push(l);
    }
    summary.logs = logs;
    summary.seriesDefs = [];
    summary.streamDefs = [];
    summary.packedMetrics = undefined;
    if (unresolved > 0) {
      summary.drops ??= create(DropReportSchema);
      summary.drops.counters[UNRESOLVED_COUNTER] =
        (summary.drops.counters[UNRESOLVED_COUNTER] ?? 0n) + BigInt(unresolved);
    }
    if (unresolvedTemplates > 0) {
      summary.drops ??= create(DropReportSchema);
      summary.drops.counters[UNRESOLVED_TEMPLATES_COUNTER] =
        (summary.drops.counters[UNRESOLVED_TEMPLATES_COUNTER] ?? 0n) + BigInt(unresolvedTemplates);
    }

    // What to write is fixed now: a later batch may change the dictionary before this one's transaction runs.
    const puts: Array<[Key, unknown]> = [];
    if (cleared) puts.push([[node, EPOCH, 0], epoch]);
    for (const ref of changedSeries) {
      const s = dict.series.get(ref);
      if (s) puts.push([[node, SERIES, ref], { d: s.defBytes, l: s.last }]);
    }
    for (const ref of changedStreams) {
      const s = dict.streams.get(ref);
      if (s) puts.push([[node, STREAM, ref], toBinary(StreamDefSchema, s)]);
    }
    for (const [ref, id, text] of changedTemplates) puts.push([[node, TEMPLATE, ref, id], text]);
    const db = this.db;
    const persist = () => {
      if (!db) return;
      if (cleared) for (const key of db.getKeys({ start: [node, 0, 0], end: [node, END, 0] })) db.remove(key);
      for (const [key, value] of puts) db.put(key, value);
    };
    return { unresolved, unresolvedTemplates, persist };
  }

  private load(node: string): NodeDictionary {
    let dict = this.nodes.get(node);
    if (dict) return dict;
    dict = { epoch: 0, series: new Map(), streams: new Map(), templates: new Map() };
    if (this.db) {
      for (const { key, value } of this.db.getRange({ start: [node, 0, 0], end: [node, END, 0] })) {
        const [, kind, ref] = key;
        try {
          if (kind === EPOCH) dict.epoch = value as number;
          else if (kind === SERIES) {
            const v = value as { d: Uint8Array; l: number };
            dict.series.set(ref, { def: fromBinary(SeriesDefSchema, v.d), defBytes: v.d, last: v.l });
          } else if (kind === STREAM) dict.streams.set(ref, fromBinary(StreamDefSchema, value as Uint8Array));
          else if (kind === TEMPLATE && key.length === 4 && typeof value === 'string') {
            let texts = dict.templates.get(ref);
            if (!texts) {
              texts = new Map();
              dict.templates.set(ref, texts);
            }
            texts.set(key[3], value);
          }
        } catch {
          // A damaged entry is as good as absent: refs to it are counted unresolved.
        }
      }
    }
    this.nodes.set(node, dict);
    return dict;
  }
}
