// One log stream's template texts and exemplars on their way to the aggregator (docs/summaries.md). The log
// pipeline hands over every template a window used, with its text; this decides what the batch must carry.
// A text follows the rule of series definitions: it counts as held by the aggregator only once a batch that
// carried it is acked and was not dropped, so a text lost with a dropped batch (or an aggregator that lost its
// state: new epoch, new stream entry) is sent again by the next batch that counts the template. Exemplars go
// where they say something: with a template's first definition, and for an error template once per
// `exemplarEveryWindows` (signals carry their own evidence), as the template's variable parts when that is
// shorter than the line (the aggregator holds the text). Counts travel packed.
import type { MessageInitShape } from '@bufbuild/protobuf';
import { packCounts } from '../../common/packed-counts.ts';
import { paramsOf } from '../../common/template-exemplars.ts';
import type { LogStreamSummarySchema } from '../../proto/gen/vigil/v1/summary_pb.js';

type LogStreamInit = MessageInitShape<typeof LogStreamSummarySchema>;

/** A template's first line in the window: the exemplar the batch may carry. */
export interface TemplateSample {
  templateId: string;
  line: string;
  /** The template's lines were errors (level words) in this window. */
  error: boolean;
}

/**
 * One stream's window as the log pipeline hands it over: `templates` lists every template the window counted,
 * with its text, and `samples` the exemplar candidates. Still a LogStreamSummary shape (tools may encode it
 * as it is: every text, plain counts).
 */
export type LogStreamWindow = LogStreamInit & { samples?: TemplateSample[] };

/** Exemplars per stream and batch, as before: a few lines, never a stream. */
export const EXEMPLARS_PER_STREAM = 3;
/** Longer exemplar lines are cut (signals keep up to EVIDENCE_MAX_LINE_CHARS of theirs). */
export const EXEMPLAR_MAX_CHARS = 200;
/** An error template's exemplar goes again after this many windows (10 s each: 5 minutes). */
export const EXEMPLAR_EVERY_WINDOWS = 30;

/** What the dictionary knows to decide with. */
export interface PackContext {
  seq: number;
  window: number;
  held: (seq: number | undefined) => boolean;
}

interface TemplateEntry {
  text: string;
  /** Latest batch that carried the text; undefined: must be (re)sent. */
  defSeq: number | undefined;
  /** Latest batch that carried an exemplar of the template, and its window. */
  exemplarSeq: number | undefined;
  exemplarWindow: number;
  seenWindow: number;
}

export class StreamTemplates {
  private readonly byId = new Map<string, TemplateEntry>();
  private readonly forgetAfter: number;
  private readonly exemplarEvery: number;
  private sweptWindow = 0;

  constructor(opts: { forgetAfterWindows: number; exemplarEveryWindows?: number }) {
    this.forgetAfter = opts.forgetAfterWindows;
    this.exemplarEvery = opts.exemplarEveryWindows ?? EXEMPLAR_EVERY_WINDOWS;
  }

  /** The aggregator refused batch `seq`: what only it carried is not held. */
  refused(seq: number): void {
    for (const e of this.byId.values()) {
      if (e.defSeq === seq) e.defSeq = undefined;
      if (e.exemplarSeq === seq) e.exemplarSeq = undefined;
    }
  }

  /** The stream's templates, counts, lines and exemplars as this batch sends them. */
  pack(
    l: LogStreamWindow,
    ctx: PackContext,
  ): Pick<
    LogStreamInit,
    'templates' | 'counts' | 'packedCounts' | 'exemplars' | 'templateExemplars' | 'lines'
  > {
    this.sweep(ctx.window);
    const templates: Array<{ id: string; text: string }> = [];
    for (const t of l.templates ?? []) {
      const id = t.id ?? '';
      const text = t.text ?? '';
      let e = this.byId.get(id);
      if (!e) {
        e = { text, defSeq: undefined, exemplarSeq: undefined, exemplarWindow: 0, seenWindow: 0 };
        this.byId.set(id, e);
      } else if (e.text !== text) {
        e.text = text;
        e.defSeq = undefined;
      }
      e.seenWindow = ctx.window;
      if (!ctx.held(e.defSeq)) {
        templates.push({ id, text });
        e.defSeq = ctx.seq;
      }
    }

    const { counts, packedCounts } = packCounts(l.counts ?? []);
    const sum = (l.counts ?? []).reduce((n, c) => n + (c.count ?? 0), 0);
    const lines = l.lines === undefined || BigInt(l.lines) === BigInt(sum) ? 0n : BigInt(l.lines);

    // Exemplars given as they are (tools, tests) go first; then samples: errors first, then the first lines of
    // templates defined in this batch, each only if the aggregator holds no recent exemplar of its template.
    const exemplars = new Set<string>((l.exemplars ?? []).map(clip));
    const byTemplate: Array<{ templateId: string; params: string[] }> = [];
    const taken = new Set<string>(exemplars);
    const defined = new Set(templates.map((t) => t.id));
    const samples = l.samples ?? [];
    const wanted = [
      ...samples.filter((s) => s.error),
      ...samples.filter((s) => !s.error && defined.has(s.templateId)),
    ];
    for (const s of wanted) {
      if (taken.size >= EXEMPLARS_PER_STREAM) break;
      const e = this.byId.get(s.templateId);
      if (!e) continue;
      if (ctx.held(e.exemplarSeq) && ctx.window - e.exemplarWindow < this.exemplarEvery) continue;
      const line = clip(s.line);
      if (taken.has(line)) continue;
      taken.add(line);
      const params = line === s.line ? paramsOf(e.text, line) : undefined;
      if (params && paramsBytes(s.templateId, params) < line.length + 2)
        byTemplate.push({ templateId: s.templateId, params });
      else exemplars.add(line);
      e.exemplarSeq = ctx.seq;
      e.exemplarWindow = ctx.window;
    }
    return {
      templates,
      counts,
      packedCounts,
      exemplars: [...exemplars],
      templateExemplars: byTemplate,
      lines,
    };
  }

  /** Forgets templates unseen for a while (merged away, or the stream stopped using them). */
  private sweep(window: number): void {
    if (window - this.sweptWindow < this.forgetAfter) return;
    this.sweptWindow = window;
    const cutoff = window - this.forgetAfter;
    for (const [id, e] of this.byId) if (e.seenWindow < cutoff) this.byId.delete(id);
  }
}

/** About what a TemplateExemplar costs on the wire (ASCII): framing, id, each param with its tag and length. */
function paramsBytes(id: string, params: readonly string[]): number {
  return 4 + id.length + params.reduce((n, x) => n + x.length + 2, 0);
}

function clip(line: string): string {
  return line.length > EXEMPLAR_MAX_CHARS ? `${line.slice(0, EXEMPLAR_MAX_CHARS)}…` : line;
}
