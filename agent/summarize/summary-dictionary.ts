// The agent's half of the per-node summary dictionary (docs/summaries.md). A series' identity (name, subject,
// labels, capacity) and a log stream's subject are defined once and referred to by a small integer; digests
// are packed by ref, and a series that stayed flat at the value the aggregator already holds costs a bit in a
// run. Batches wait in the outbox, get dropped at its cap or refused, so nothing is assumed delivered until
// acked: a definition (or a value) counts as held by the aggregator only once a batch that carried it is
// acked and was not dropped. Until then every batch carries it again. A log stream's template texts follow the
// same rule, per stream (stream-templates.ts). A new process starts a new epoch, so refs of an earlier process
// never mix with this one's.
import { create, type MessageInitShape } from '@bufbuild/protobuf';
import type { Subject as WireSubject } from '../../proto/gen/vigil/v1/signal_pb.js';
import {
  type LogStreamSummarySchema,
  type MetricDigest,
  type PackedDigests,
  PackedDigestsSchema,
  type SeriesDef,
  SeriesDefSchema,
  type StreamDef,
  StreamDefSchema,
} from '../../proto/gen/vigil/v1/summary_pb.js';
import { type LogStreamWindow, StreamTemplates } from './stream-templates.ts';

type LogStreamInit = MessageInitShape<typeof LogStreamSummarySchema>;

/** What the outbox says about delivery when a batch is encoded. */
export interface DeliveryView {
  /** The sequence the batch being encoded gets. */
  seq: number;
  /** Everything up to here is acked (held by the aggregator, or dropped). */
  ackedSeq: number;
  /** The highest sequence ever dropped unsent (0: none). */
  lastDroppedSeq: number;
}

export interface PackedWindow {
  dictionaryEpoch: number;
  seriesDefs: SeriesDef[];
  packedMetrics: PackedDigests;
  streamDefs: StreamDef[];
  logs: LogStreamInit[];
}

export interface SummaryDictionaryOptions {
  /** This dictionary's epoch (persisted by the caller, new per process). */
  epoch: number;
  /** Gives a fresh epoch when the dictionary starts over (retired refs piled up, the aggregator lost state). */
  nextEpoch: () => number;
  /** Series or streams unseen for this many windows are forgotten. */
  forgetAfterWindows?: number;
  /** Start a new epoch (the aggregator then drops the old dictionary) once this many refs were forgotten. */
  maxRetired?: number;
}

interface SeriesEntry {
  ref: number;
  def: SeriesDef;
  /** Latest batch that carried the definition; undefined: must be (re)sent. */
  defSeq: number | undefined;
  /** The `last` value of the latest batch that listed the series, and that batch. */
  lastValue: number;
  lastSeq: number | undefined;
  seenWindow: number;
}

interface StreamEntry {
  ref: number;
  def: StreamDef;
  defSeq: number | undefined;
  seenWindow: number;
  /** The stream's template texts (held or to send) and exemplars sent. */
  templates: StreamTemplates;
}

const f32 = Math.fround;

export class SummaryDictionary {
  private epochValue: number;
  private readonly nextEpoch: () => number;
  private readonly forgetAfter: number;
  private readonly maxRetired: number;
  private series = new Map<string, SeriesEntry>();
  private streams = new Map<string, StreamEntry>();
  private nextRef = 1;
  private retired = 0;
  private window = 0;

  constructor(opts: SummaryDictionaryOptions) {
    this.epochValue = opts.epoch;
    this.nextEpoch = opts.nextEpoch;
    this.forgetAfter = opts.forgetAfterWindows ?? 360;
    this.maxRetired = opts.maxRetired ?? 4096;
  }

  get epoch(): number {
    return this.epochValue;
  }

  get size(): { series: number; streams: number } {
    return { series: this.series.size, streams: this.streams.size };
  }

  /** Starts over with a new epoch: every definition is sent again. */
  restart(): void {
    this.epochValue = this.nextEpoch();
    this.series = new Map();
    this.streams = new Map();
    this.nextRef = 1;
    this.retired = 0;
  }

  /** The aggregator refused batch `seq` (it did not apply it): what only it carried is not held. */
  refused(seq: number): void {
    for (const e of this.series.values()) {
      if (e.defSeq === seq) e.defSeq = undefined;
      if (e.lastSeq === seq) e.lastSeq = undefined;
    }
    for (const e of this.streams.values()) {
      if (e.defSeq === seq) e.defSeq = undefined;
      e.templates.refused(seq);
    }
  }

  /**
   * One window's digests and log streams, by ref, with the definitions (and template texts) the aggregator may
   * lack. `logs` name every template they count with its text; only the texts not held go out.
   */
  pack(metrics: MetricDigest[], logs: LogStreamWindow[], view: DeliveryView): PackedWindow {
    this.window++;
    this.forgetStale();
    const held = (seq: number | undefined) =>
      seq !== undefined && seq <= view.ackedSeq && seq > view.lastDroppedSeq;

    const seriesDefs: SeriesDef[] = [];
    const rows: Array<{ e: SeriesEntry; d: MetricDigest }> = [];
    for (const d of metrics) {
      const key = seriesKeyOf(d);
      let e = this.series.get(key);
      if (!e) {
        e = {
          ref: this.nextRef++,
          def: create(SeriesDefSchema, { name: d.name, labels: d.labels, capacity: d.capacity }),
          defSeq: undefined,
          lastValue: Number.NaN,
          lastSeq: undefined,
          seenWindow: 0,
        };
        if (d.subject) e.def.subject = d.subject;
        e.def.ref = e.ref;
        this.series.set(key, e);
      } else if (f32(e.def.capacity) !== f32(d.capacity)) {
        e.def.capacity = d.capacity;
        e.defSeq = undefined;
      }
      e.seenWindow = this.window;
      if (!held(e.defSeq)) {
        seriesDefs.push(e.def);
        e.defSeq = view.seq;
      }
      rows.push({ e, d });
    }
    rows.sort((a, b) => a.e.ref - b.e.ref);
    const count = modeOf(rows.map((r) => r.d.count));

    const listed: Array<{ e: SeriesEntry; d: MetricDigest }> = [];
    const unchanged: number[] = [];
    for (const r of rows) {
      const { e, d } = r;
      const flat = isFlat(d);
      if (
        flat &&
        d.count === count &&
        f32(d.last) === f32(e.lastValue) &&
        held(e.lastSeq) &&
        held(e.defSeq)
      ) {
        unchanged.push(e.ref);
        continue;
      }
      listed.push(r);
      e.lastValue = d.last;
      e.lastSeq = view.seq;
    }

    const packed = create(PackedDigestsSchema, { count });
    let prev = 0;
    const counts: number[] = [];
    for (const { e, d } of listed) {
      const flat = isFlat(d);
      packed.refs.push((e.ref - prev) * 2 + (flat ? 1 : 0));
      prev = e.ref;
      if (flat) packed.values.push(d.last);
      else packed.values.push(d.min, d.max, d.mean, d.last);
      counts.push(d.count);
    }
    if (counts.some((c) => c !== count)) packed.counts = counts;
    packed.unchanged = runsOf(unchanged);

    const streamDefs: StreamDef[] = [];
    const outLogs: LogStreamInit[] = [];
    // A text another stream of this batch already carries goes as its position (TemplateDef.same_as).
    const textPositions = new Map<string, number>();
    let position = 0;
    for (const l of logs) {
      const key = streamKeyOf(l.subject as WireSubject | undefined, l.stream ?? '');
      let e = this.streams.get(key);
      if (!e) {
        e = {
          ref: this.nextRef++,
          def: create(StreamDefSchema, { stream: l.stream ?? '' }),
          defSeq: undefined,
          seenWindow: 0,
          templates: new StreamTemplates({ forgetAfterWindows: this.forgetAfter }),
        };
        if (l.subject) e.def.subject = create(StreamDefSchema, { subject: l.subject }).subject!;
        e.def.ref = e.ref;
        this.streams.set(key, e);
      }
      e.seenWindow = this.window;
      if (!held(e.defSeq)) {
        streamDefs.push(e.def);
        e.defSeq = view.seq;
      }
      // Subject and stream name become the ref; texts, counts, lines and exemplars are what this batch must
      // carry (an exemplar that repeats another of the same stream is sent once); bytes go as they came.
      const packedLog = e.templates.pack(l, {
        seq: view.seq,
        window: this.window,
        held: (seq) => held(seq) && held(e.defSeq),
      });
      const templates = (packedLog.templates ?? []).map((t) => {
        position++;
        const text = t.text ?? '';
        const same = textPositions.get(text);
        if (same === undefined) {
          textPositions.set(text, position);
          return t;
        }
        return { id: t.id ?? '', sameAs: same };
      });
      outLogs.push({ bytes: l.bytes ?? 0n, ...packedLog, templates, stream: '', streamRef: e.ref });
    }
    return { dictionaryEpoch: this.epochValue, seriesDefs, packedMetrics: packed, streamDefs, logs: outLogs };
  }

  /** Forgets what has not been seen for a while; starts a new epoch once forgotten refs pile up. */
  private forgetStale(): void {
    const cutoff = this.window - this.forgetAfter;
    for (const [k, e] of this.series)
      if (e.seenWindow < cutoff) {
        this.series.delete(k);
        this.retired++;
      }
    for (const [k, e] of this.streams)
      if (e.seenWindow < cutoff) {
        this.streams.delete(k);
        this.retired++;
      }
    if (this.retired > this.maxRetired) this.restart();
  }
}

/** min = max = mean = last once on the wire (float32). */
export function isFlat(d: Pick<MetricDigest, 'min' | 'max' | 'mean' | 'last'>): boolean {
  const v = f32(d.last);
  return f32(d.min) === v && f32(d.max) === v && f32(d.mean) === v;
}

/** Ascending refs as (gap from the previous run's end, run length) pairs. */
export function runsOf(sortedRefs: number[]): number[] {
  const out: number[] = [];
  let end = 0;
  let i = 0;
  while (i < sortedRefs.length) {
    const start = sortedRefs[i]!;
    let len = 1;
    while (sortedRefs[i + len] === start + len) len++;
    out.push(start - end, len);
    end = start + len;
    i += len;
  }
  return out;
}

function modeOf(values: number[]): number {
  const seen = new Map<number, number>();
  let best = 0;
  let bestN = 0;
  for (const v of values) {
    const n = (seen.get(v) ?? 0) + 1;
    seen.set(v, n);
    if (n > bestN) {
      best = v;
      bestN = n;
    }
  }
  return best;
}

function subjectKey(s: WireSubject | undefined): string {
  if (!s) return '';
  return `${s.kind}/${s.node}/${s.namespace}/${s.pod}/${s.container}/${s.workload}/${s.service}/${s.name}`;
}

function seriesKeyOf(d: MetricDigest): string {
  const labels = Object.entries(d.labels)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  return `${d.name}|${subjectKey(d.subject)}|${labels}`;
}

function streamKeyOf(subject: WireSubject | undefined, stream: string): string {
  return `${subjectKey(subject)}|${stream}`;
}
