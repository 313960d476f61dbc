import { appendFileSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LogTailer } from '../../../agent/sources/logs/tailer.ts';
import { Collector, criLine, expectExactlyOnce, makeHostRoot, podLogDir } from './helpers.ts';

/** Lets the event loop deliver pending inotify events. */
const tick = () => new Promise((r) => setTimeout(r, 30));

describe('directories polled because their files are busy', () => {
  let cleanup = () => {};
  afterEach(() => cleanup());

  it('skips the listing while no polled directory changed, and lists again when a file appears in one', async () => {
    const host = makeHostRoot();
    cleanup = host.cleanup;
    const dir = podLogDir(host.root, 'ns', 'busy');
    const path = join(dir, '0.log');
    writeFileSync(path, criLine(0));
    // Directory times an hour old: listings taken now are trusted while the mtimes stay (file times are coarse).
    const hourAgo = new Date(Date.now() - 3_600_000);
    for (const d of [dir, dirname(dir), dirname(dirname(dir))]) utimesSync(d, hourAgo, hourAgo);
    const clock = { now: 1_000_000 };
    const tailer = new LogTailer({ hostRoot: host.root, now: () => clock.now, sweepIntervalMs: 60_000 });
    const c = new Collector();
    c.add(await tailer.poll());
    await tick();
    clock.now += 300;
    c.add(await tailer.poll());
    // Writes often enough that its directory is switched from a watch to polling at the next review.
    for (let i = 1; i <= 6; i++) {
      appendFileSync(path, criLine(i));
      await tick();
      c.add(await tailer.poll());
    }
    clock.now += 800;
    c.add(await tailer.poll());
    expect(tailer.stats().watchesToPolling).toBe(1);

    const before = tailer.stats();
    for (let i = 0; i < 3; i++) {
      clock.now += 800;
      c.add(await tailer.poll());
    }
    expect(tailer.stats().discoveries).toBe(before.discoveries);
    expect(tailer.stats().listingsSkipped - before.listingsSkipped).toBe(3);

    // A container restart's new file changes the polled directory: listed again, the file is read.
    writeFileSync(join(dir, '1.log'), criLine(7));
    clock.now += 800;
    c.add(await tailer.poll());
    expect(tailer.stats().discoveries).toBe(before.discoveries + 1);
    expectExactlyOnce(c.seqs(), 8);
    await tailer.close();
  });
});
