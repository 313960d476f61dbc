// `vigil templates FILE`: mines the log templates of a file of messages (one per line) with the agent's miner
// and defaults, and writes one JSON object per input line, in input order, to stdout:
// {"templateId": "...", "template": "..."} with variables as `<*>`. Nothing else goes to stdout.
// Two passes: the first mines online (as the agent does), the second prints each line's template id (merged
// ids resolved) with the template text as it stands after the whole file.
import type { Command } from 'commander';
import { readLineBatches } from '../../agent/detect/logs/file-lines.ts';
import { OVERFLOW_TEMPLATE_ID, TemplateMiner } from '../../agent/detect/logs/miner.ts';
import { createLogger } from '../../common/log.ts';

export interface TextSink {
  write(text: string): boolean;
  once(event: 'drain', listener: () => void): unknown;
}

const OUT_CHUNK_CHARS = 1 << 20;

export function register(program: Command): void {
  program
    .command('templates')
    .description('mine log templates of FILE (one message per line); one JSON line per input line on stdout')
    .argument('<file>', 'file of log messages, one per line')
    .action(async (file: string) => {
      const log = createLogger('templates');
      try {
        const stats = await writeFileTemplates(file, process.stdout);
        log.info(stats, 'templates mined');
      } catch (err) {
        log.error({ err, file }, 'templates failed');
        process.exitCode = 1;
      }
    });
}

/** Mines `path` and writes the per-line JSON contract to `out`. Returns the miner statistics. */
export async function writeFileTemplates(
  path: string,
  out: TextSink,
): Promise<ReturnType<TemplateMiner['stats']>> {
  const miner = new TemplateMiner();
  // Per line, the sequence number of its template id at the time it was mined (0 = overflow).
  let seqs = new Uint32Array(1 << 16);
  let n = 0;
  for await (const batch of readLineBatches(path)) {
    if (n + batch.length > seqs.length) {
      const grown = new Uint32Array(Math.max(seqs.length * 2, n + batch.length));
      grown.set(seqs.subarray(0, n));
      seqs = grown;
    }
    for (const line of batch) {
      const id = miner.add(line).templateId;
      seqs[n++] = id === OVERFLOW_TEMPLATE_ID ? 0 : Number(id.slice(1));
    }
  }
  const rendered = new Map<number, string>();
  const render = (seq: number): string => {
    let json = rendered.get(seq);
    if (json === undefined) {
      const id = seq === 0 ? OVERFLOW_TEMPLATE_ID : miner.resolve(`t${seq}`);
      json = `${JSON.stringify({ templateId: id, template: miner.templateOf(id) ?? '' })}\n`;
      rendered.set(seq, json);
    }
    return json;
  };
  let chunk = '';
  for (let i = 0; i < n; i++) {
    chunk += render(seqs[i]!);
    if (chunk.length >= OUT_CHUNK_CHARS) {
      if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', resolve));
      chunk = '';
    }
  }
  if (chunk.length > 0 && !out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', resolve));
  return miner.stats();
}
