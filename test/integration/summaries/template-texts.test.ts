// Log template texts across outbox drops and an aggregator restart (docs/summaries.md): a real agent tails a
// real CRI file, its real outbox drops the batch that first carried a template's text while the aggregator is
// down, and the aggregator (restarted on its LMDB) must still name every template every summary counts.
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { afterEach, describe, expect, it } from 'vitest';
import type { Agent } from '../../../agent/agent.ts';
import type { DropStats } from '../../../agent/buffer/outbox.ts';
import { SummaryDictionary } from '../../../agent/summarize/summary-dictionary.ts';
import type { Aggregator } from '../../../aggregator/aggregator.ts';
import {
  NodeDictionaries,
  UNRESOLVED_COUNTER,
  UNRESOLVED_TEMPLATES_COUNTER,
} from '../../../aggregator/state/node-dictionaries.ts';
import { unpackCounts } from '../../../common/packed-counts.ts';
import { subjectToWire } from '../../../common/signal-wire.ts';
import { openLmdb } from '../../../common/store/lmdb.ts';
import { type Summary, SummarySchema } from '../../../proto/gen/vigil/v1/summary_pb.js';
import {
  agentConfig,
  inProcessAgent,
  inProcessAggregator,
  quietLogger,
  tempDir,
} from '../../support/in-process.ts';
import { eventually, freePort } from '../../support/processes.ts';
import { podLogDir } from '../logs-tail/helpers.ts';

const running: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  for (const r of running.splice(0).reverse()) await r.stop();
});

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

let written = 0;
function cri(msg: string): string {
  written++;
  const ts = new Date(Date.UTC(2026, 0, 1, 0, 0, 0, written)).toISOString().replace('Z', '000000Z');
  return `${ts} stdout F ${msg}\n`;
}
const access = (i: number) => cri(`GET /api/orders/${i} 200 ${i % 90}ms`);
const failure = (i: number) => cri(`ERROR payment ${i} failed: connection refused to db:5432`);

interface WireBatch {
  seq: number;
  summary: Summary;
}

/** The wire form and sequence of every batch the agent writes (before it is sent). */
function captureWire(agent: Agent): WireBatch[] {
  const out: WireBatch[] = [];
  const append = agent.outbox.append.bind(agent.outbox);
  agent.outbox.append = (encode: (d: DropStats) => Uint8Array, opts) =>
    append((d) => {
      const bytes = encode(d);
      out.push({ seq: agent.outbox.nextSeq, summary: fromBinary(SummarySchema, bytes) });
      return bytes;
    }, opts);
  return out;
}

/** Lines a wire batch counts (packed and plain counts). */
function countedLines(s: Summary): number {
  let n = 0;
  for (const l of s.logs) {
    for (const c of l.counts) n += c.count;
    for (const c of unpackCounts(l.packedCounts)) n += c.count;
  }
  return n;
}

/** Closes windows until the batches written since the call count `lines` lines. */
async function windowsCounting(agent: Agent, wire: WireBatch[], lines: number): Promise<void> {
  const from = wire.length;
  const deadline = Date.now() + 20_000;
  for (;;) {
    await agent.closeWindow();
    const counted = wire.slice(from).reduce((n, b) => n + countedLines(b.summary), 0);
    if (counted >= lines) return;
    if (Date.now() > deadline) throw new Error(`only ${counted} of ${lines} lines counted`);
    await pause(100);
  }
}

/** Every summary the aggregator accepts (expanded). */
function accepted(agg: Aggregator): Summary[] {
  const seen: Summary[] = [];
  agg.registry.on('summary', (_node, _seq, s) => seen.push(s));
  return seen;
}

const carries = (s: Summary, word: string) =>
  s.logs.some((l) => l.templates.some((t) => t.text.includes(word)));

describe('log template texts', () => {
  it('survive the outbox dropping the batch that first carried them, and an aggregator restart', async () => {
    const host = tempDir('texts-host');
    const file = join(
      podLogDir(host, 'shop', 'api-1', 'api', '0f0e0d0c-0000-4000-8000-00000000aa01'),
      '0.log',
    );
    writeFileSync(file, '');
    const port = await freePort();
    const aggDir = tempDir('texts-agg');
    let agg = await inProcessAggregator({ grpcPort: port, stateDir: aggDir });
    running.push(agg);
    const agent = await inProcessAgent(
      agentConfig('texts-drops', port, {
        hostRoot: host,
        logs: true,
        security: false,
        outboxMaxBytes: 2048,
        shutdownGraceSeconds: 1,
      }),
    );
    running.push(agent);
    const wire = captureWire(agent);

    // Connected: the access template's text goes once and is acked.
    appendFileSync(file, [1, 2, 3, 4, 5].map(access).join(''));
    await windowsCounting(agent, wire, 5);
    await eventually(() => agent.outbox.count === 0, 20_000, 'first windows acked');
    expect(wire.some((b) => carries(b.summary, 'GET'))).toBe(true);

    // Aggregator down: a new (error) template appears; its text rides in every batch that counts it (none is
    // acked), until the outbox drops the oldest of them.
    await agg.stop();
    running.splice(running.indexOf(agg), 1);
    await eventually(() => !agent.connection.connected, 10_000, 'agent noticed the aggregator is gone');
    const downFrom = wire.length;
    const firstCarrierSeq = () =>
      wire.slice(downFrom).find((b) => carries(b.summary, 'payment'))?.seq ?? Number.POSITIVE_INFINITY;
    let i = 10;
    // Until the drops reach past the first batch that carried the error text (the oldest low-value batches
    // go first, so a drop may take only an empty window before it).
    while (agent.outbox.drops.droppedBatches === 0 || agent.outbox.drops.lastDroppedSeq < firstCarrierSeq()) {
      appendFileSync(file, access(i) + failure(i) + failure(i + 1));
      i += 2;
      await windowsCounting(agent, wire, 3);
      if (i > 400) throw new Error('the outbox never dropped a batch');
    }
    const down = wire.slice(downFrom);
    const firstCarrier = down.find((b) => carries(b.summary, 'payment'))!;
    expect(firstCarrier.seq).toBeLessThanOrEqual(agent.outbox.drops.lastDroppedSeq);
    // Every batch of the outage that counts the error template carries its text again.
    for (const b of down.filter((b) => countedLines(b.summary) > 0))
      expect(carries(b.summary, 'payment')).toBe(true);
    // The access template's text was acked before: it is not sent again until a drop is known (then every
    // text goes again once, the conservative rule of the dictionary: an ack never vouches across a drop).
    const beforeDrops = down.filter((b) => (b.summary.drops?.droppedBatches ?? 0n) === 0n);
    expect(beforeDrops.length).toBeGreaterThan(1);
    expect(beforeDrops.some((b) => carries(b.summary, 'GET'))).toBe(false);

    // The aggregator comes back on its state: it holds the access text from before its restart (LMDB) and
    // gets the error text from the batches that survived the drops.
    agg = await inProcessAggregator({ grpcPort: port, stateDir: aggDir });
    running.unshift(agg);
    const seen = accepted(agg);
    await eventually(() => agent.outbox.count === 0, 30_000, 'outbox drained');
    // The first window that counts them after the drops carries both texts again (unless one built after the
    // drop was known already did); once that is acked, the next one carries neither.
    appendFileSync(file, access(1000) + failure(1001));
    await windowsCounting(agent, wire, 2);
    await eventually(() => agent.outbox.count === 0, 20_000, 'window after the drops acked');
    const lastFrom = wire.length;
    appendFileSync(file, access(1002) + failure(1003));
    await windowsCounting(agent, wire, 2);
    await eventually(() => agent.outbox.count === 0, 20_000, 'last window acked');
    const last = wire.slice(lastFrom).filter((b) => countedLines(b.summary) > 0);
    expect(last.length).toBeGreaterThan(0);
    for (const b of last) expect(carries(b.summary, 'GET') || carries(b.summary, 'payment')).toBe(false);

    expect(seen.length).toBeGreaterThan(0);
    let counts = 0;
    for (const s of seen) {
      expect(Number(s.drops?.counters[UNRESOLVED_TEMPLATES_COUNTER] ?? 0n)).toBe(0);
      expect(Number(s.drops?.counters[UNRESOLVED_COUNTER] ?? 0n)).toBe(0);
      for (const l of s.logs) {
        const texts = new Map(l.templates.map((t) => [t.id, t.text]));
        expect(l.counts.reduce((n, c) => n + c.count, 0)).toBe(Number(l.lines));
        for (const c of l.counts) {
          expect(texts.get(c.templateId), `text of ${c.templateId}`).toBeTruthy();
          counts++;
        }
      }
    }
    expect(counts).toBeGreaterThan(0);
    const final = seen.at(-1)!.logs[0]!;
    expect(final.templates.map((t) => t.text).join('\n')).toMatch(/GET[\s\S]*payment|payment[\s\S]*GET/);
    expect(agg.registry.get('texts-drops')!.record.droppedBatches).toBe(agent.outbox.drops.droppedBatches);
  }, 120_000);

  it('are held in the aggregator LMDB with the batch: a new process names what an earlier one was sent', async () => {
    const dir = tempDir('texts-lmdb');
    const agent = new SummaryDictionary({ epoch: 1, nextEpoch: () => 2 });
    const subject = subjectToWire({
      kind: 'container',
      node: 'n1',
      namespace: 'shop',
      pod: 'api-1',
      container: 'api',
    });
    const window = (count: number) => ({
      subject,
      stream: 'container',
      templates: [{ id: 't4', text: 'GET /api/orders/<*> 200 <*>ms' }],
      counts: [{ templateId: 't4', count }],
      lines: BigInt(count),
      bytes: 100n,
    });
    const wire = (seq: number, acked: number, count: number) =>
      toBinary(
        SummarySchema,
        create(SummarySchema, {
          node: 'n1',
          ...agent.pack([], [window(count)], { seq, ackedSeq: acked, lastDroppedSeq: 0 }),
        }),
      );
    let store = openLmdb(join(dir, 'aggregator.mdb'), quietLogger);
    const first = fromBinary(SummarySchema, wire(1, 0, 2));
    const expansion = new NodeDictionaries(store.root).expand('n1', first);
    await store.root.transaction(() => expansion.persist());
    await store.root.close();

    store = openLmdb(join(dir, 'aggregator.mdb'), quietLogger);
    const later = fromBinary(SummarySchema, wire(2, 1, 3));
    expect(later.logs[0]!.templates).toHaveLength(0); // acked: the text is not sent again
    const again = new NodeDictionaries(store.root).expand('n1', later);
    expect(again.unresolvedTemplates).toBe(0);
    expect(later.logs[0]!.templates.map((t) => [t.id, t.text])).toEqual([
      ['t4', 'GET /api/orders/<*> 200 <*>ms'],
    ]);
    expect(later.logs[0]!.lines).toBe(3n);
    await store.root.close();
  });
});
