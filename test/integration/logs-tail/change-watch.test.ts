import { appendFileSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { fsWatchBackend, type WatchBackend } from '../../../agent/sources/logs/change-watch.ts';
import { LogTailer, type LogTailerOptions } from '../../../agent/sources/logs/tailer.ts';
import { Collector, criLine, expectExactlyOnce, makeHostRoot, podLogDir, pollUntil } from './helpers.ts';

/** Lets the event loop deliver pending inotify events. */
const tick = () => new Promise((r) => setTimeout(r, 30));

describe('change detection by directory watches', () => {
  let cleanup = () => {};
  afterEach(() => cleanup());
  const root = () => {
    const host = makeHostRoot();
    cleanup = host.cleanup;
    return host.root;
  };

  /** A tailer on a frozen clock (time moves only when the test says so) that has settled its watches. */
  async function settledTailer(r: string, opts: Partial<LogTailerOptions> = {}) {
    const clock = { now: 1_000_000 };
    const tailer = new LogTailer({ hostRoot: r, now: () => clock.now, sweepIntervalMs: 60_000, ...opts });
    const c = new Collector();
    c.add(await tailer.poll());
    // New watches make their directories dirty once (their listing may predate the watch): one more listing.
    await tick();
    clock.now += 300;
    c.add(await tailer.poll());
    return { tailer, c, clock };
  }

  /**
   * Lines 1–6 into `path`, each reported by its watch, then the review `reviewMs` later: the directory is
   * polled from then on. Returns the next line number.
   */
  async function switchToPolling(
    path: string,
    tailer: LogTailer,
    c: Collector,
    clock: { now: number },
    reviewMs: number,
  ): Promise<number> {
    for (let seq = 1; seq <= 6; seq++) {
      appendFileSync(path, criLine(seq));
      await tick();
      c.add(await tailer.poll());
    }
    clock.now += reviewMs;
    c.add(await tailer.poll());
    expect(tailer.stats().watchesToPolling).toBe(1);
    return 7;
  }

  it('reads a file appended after a quiet spell as soon as its watch reports it, without a sweep', async () => {
    const r = root();
    const path = join(podLogDir(r, 'ns', 'quiet'), '0.log');
    writeFileSync(path, criLine(0));
    const { tailer, c, clock } = await settledTailer(r);
    expect(c.seqs()).toEqual([0]);
    // A quiet spell far beyond the polling delay; then the clock stops: only an event can wake the file.
    clock.now += 5000;
    c.add(await tailer.poll());
    const before = tailer.stats();
    appendFileSync(path, criLine(1));
    await pollUntil(tailer, c, () => c.records.length === 2, { deadlineMs: 5000 });
    expectExactlyOnce(c.seqs(), 2);
    const after = tailer.stats();
    expect(after.sweeps).toBe(1);
    expect(after.discoveries).toBe(before.discoveries);
    expect(after.watchEvents).toBeGreaterThan(before.watchEvents);
    expect(after.missedChanges).toBe(0);
    // var/log/pods, the pod directory, the container directory, and var/log for the host logs.
    expect(after.dirsWatched).toBe(4);
    await tailer.close();
  });

  it('pollAll reads what a sleeping file got even before its watch event arrives, without counting it missed', async () => {
    const r = root();
    const path = join(podLogDir(r, 'ns', 'quiet'), '0.log');
    writeFileSync(path, criLine(0));
    const { tailer, c, clock } = await settledTailer(r);
    appendFileSync(path, criLine(1));
    // No tick: the event has not been delivered. A regular poll does not see the line, pollAll does.
    clock.now += 300;
    c.add(await tailer.poll());
    expect(c.seqs()).toEqual([0]);
    c.add(await tailer.pollAll());
    expectExactlyOnce(c.seqs(), 2);
    expect(tailer.stats().missedChanges).toBe(0);
    await tailer.close();
  });

  it('picks up a new pod from the watch events well before the sweep', async () => {
    const r = root();
    writeFileSync(join(podLogDir(r, 'ns', 'first'), '0.log'), criLine(0));
    const { tailer, c, clock } = await settledTailer(r);
    writeFileSync(join(podLogDir(r, 'ns', 'second'), '0.log'), criLine(1));
    await tick();
    clock.now += 250; // event-driven listings are spaced at least 200 ms apart
    await pollUntil(tailer, c, () => c.records.length === 2, { deadlineMs: 5000 });
    expect(c.records.map((x) => x.stream.id).sort()).toEqual(['ns/first/app', 'ns/second/app']);
    expect(tailer.stats().sweeps).toBe(1);
    await tailer.close();
  });

  it('notices the truncation of an idle watched file from its event and reads the new content', async () => {
    const r = root();
    const path = join(podLogDir(r, 'ns', 'trunc'), '0.log');
    writeFileSync(path, criLine(0) + criLine(1) + criLine(2));
    const { tailer, c } = await settledTailer(r);
    expect(c.records).toHaveLength(3);
    truncateSync(path, 0);
    appendFileSync(path, criLine(3));
    await pollUntil(tailer, c, () => c.records.length === 4, { deadlineMs: 5000 });
    expectExactlyOnce(c.seqs(), 4);
    expect(tailer.stats()).toMatchObject({ copytruncates: 1, sweeps: 1 });
    await tailer.close();
  });

  it('catches appends, a new pod and a rename rotation that the watches missed at the next sweep', async () => {
    const r = root();
    const path = join(podLogDir(r, 'ns', 'lossy'), '0.log');
    writeFileSync(path, criLine(0));
    let lose = false;
    // A watch that loses events on demand, like an overflowed inotify queue (libuv drops IN_Q_OVERFLOW).
    const lossy: WatchBackend = (dir, onEvent, onError) =>
      fsWatchBackend(dir, (kind, name) => (lose ? undefined : onEvent(kind, name)), onError);
    const { tailer, c, clock } = await settledTailer(r, { watchBackend: lossy, sweepIntervalMs: 5000 });
    expect(c.seqs()).toEqual([0]);
    lose = true;
    appendFileSync(path, criLine(1));
    writeFileSync(join(podLogDir(r, 'ns', 'unseen'), '0.log'), criLine(2));
    await tick();
    clock.now += 1000;
    c.add(await tailer.poll());
    expect(c.records).toHaveLength(1); // nothing woke the tailer

    // The sweep reads every open file and lists the tree stat-gated.
    clock.now += 5000;
    await pollUntil(tailer, c, () => c.records.length === 3, { deadlineMs: 5000 });
    expect(tailer.stats().sweeps).toBe(2);
    expect(tailer.stats().missedChanges).toBeGreaterThanOrEqual(1);

    // A rename rotation with every event lost: the rotated file is drained, the new one read from 0.
    renameSync(path, `${path}.1`);
    appendFileSync(`${path}.1`, criLine(3));
    writeFileSync(path, criLine(4));
    await tick();
    clock.now += 5000;
    await pollUntil(tailer, c, () => c.records.length === 5, { deadlineMs: 5000 });
    expectExactlyOnce(c.seqs(), 5);
    expect(tailer.stats().rotations).toBe(1);
    await tailer.close();
  });

  it('polls a directory whose watch fires often, and watches it again once its files are quiet', async () => {
    const r = root();
    const path = join(podLogDir(r, 'ns', 'chatty'), '0.log');
    writeFileSync(path, criLine(0));
    // The clock steps below are in units of this delay.
    const { tailer, c, clock } = await settledTailer(r, { idleReadDelayMs: 1000 });
    expect(tailer.stats().dirsWatched).toBe(4);
    for (let i = 1; i <= 6; i++) {
      appendFileSync(path, criLine(i));
      await tick();
      c.add(await tailer.poll());
    }
    clock.now += 800; // the review
    c.add(await tailer.poll());
    expect(tailer.stats()).toMatchObject({ watchesToPolling: 1, dirsWatched: 3 });
    appendFileSync(path, criLine(7));
    clock.now += 1000; // polled: read within idleReadDelayMs, no event needed
    c.add(await tailer.poll());
    expectExactlyOnce(c.seqs(), 8);

    clock.now += 6000; // quiet: the next review gives the directory its watch back
    c.add(await tailer.poll());
    expect(tailer.stats().dirsWatched).toBe(4);
    await tick();
    clock.now += 1000;
    c.add(await tailer.poll());
    const events = tailer.stats().watchEvents;
    appendFileSync(path, criLine(8));
    await pollUntil(tailer, c, () => c.records.length === 9, { deadlineMs: 5000 });
    expectExactlyOnce(c.seqs(), 9);
    expect(tailer.stats().watchEvents).toBeGreaterThan(events);
    expect(tailer.stats().watchesToPolling).toBe(1);
    await tailer.close();
  });

  it('checks a polled directory as often as its trickling file is read, and still sees a rotation there', async () => {
    const r = root();
    const dir = podLogDir(r, 'ns', 'trickle');
    const path = join(dir, '0.log');
    writeFileSync(path, criLine(0));
    const { tailer, c, clock } = await settledTailer(r, { idleReadDelayMs: 1600, discoveryIntervalMs: 400 });
    let seq = await switchToPolling(path, tailer, c, clock, 400);
    // A line every 400 ms: the file's read delay doubles to 1,600 ms, and so does the directory's check.
    const checks0 = tailer.stats().polledDirChecks;
    for (let step = 0; step < 40; step++, seq++) {
      appendFileSync(path, criLine(seq));
      clock.now += 400;
      c.add(await tailer.poll());
    }
    const checks = tailer.stats().polledDirChecks - checks0;
    expect(checks).toBeGreaterThanOrEqual(40 / 4 - 1);
    expect(checks).toBeLessThan(40 / 2);
    // Rotation by rename while trickling: the new file is found within one read delay, the old one drained.
    appendFileSync(path, criLine(seq++));
    renameSync(path, `${path}.20261127-000000`);
    for (let i = 0; i < 3; i++, seq++) {
      appendFileSync(path, criLine(seq));
      clock.now += 400;
      c.add(await tailer.poll());
    }
    clock.now += 1600;
    c.add(await tailer.poll());
    expectExactlyOnce(c.seqs(), seq);
    expect(tailer.stats()).toMatchObject({ rotations: 1, filesLost: 0 });
    await tailer.close();
  });

  it('leaves the directory of files parked until the next pollAll unchecked while they give data, and finds a rotation once the old file stops', async () => {
    const r = root();
    const dir = podLogDir(r, 'ns', 'parked');
    const path = join(dir, '0.log');
    writeFileSync(path, criLine(0));
    // A second file there, so that a run on a small budget takes several calls.
    const other = join(dir, '1.log');
    writeFileSync(other, '');
    // No sweep during the test: what finds the rotation is the run's own check.
    const { tailer, c, clock } = await settledTailer(r, {
      idleReadDelayMs: 2000,
      discoveryIntervalMs: 400,
      sweepIntervalMs: 3_600_000,
    });
    let seq = await switchToPolling(path, tailer, c, clock, 400);
    // Runs of pollAll every 10 s, each of several calls on a small budget; `pending` lines not read yet.
    const run = async (pending = 0) => {
      const checks0 = tailer.stats().polledDirChecks;
      let calls = 0;
      for (let more = true; more; calls++) more = c.add(await tailer.pollAll(256)).more;
      expect(calls).toBeGreaterThan(1);
      expect(c.seqs()).toHaveLength(seq - pending);
      if (pending === 0) expectExactlyOnce(c.seqs(), seq);
      return tailer.stats().polledDirChecks - checks0;
    };
    // A line in each file every 400 ms.
    const window = async (files: string[]) => {
      const checks0 = tailer.stats().polledDirChecks;
      for (let step = 0; step < 25; step++) {
        for (const f of files) appendFileSync(f, criLine(seq++));
        clock.now += 400;
        c.add(await tailer.poll());
      }
      return tailer.stats().polledDirChecks - checks0;
    };
    const between: number[] = [];
    const atRuns: number[] = [];
    for (let k = 0; k < 4; k++) {
      between.push(await window([path, other]));
      atRuns.push(await run());
    }
    // Parked from the second run on (the gap between runs is known then): once its files are parked and give
    // data, the directory is checked neither between the runs nor by them.
    expect(between.slice(2)).toEqual([0, 0]);
    expect(atRuns).toEqual([1, 1, 0, 0]);
    // Rotation by rename in the middle of a window: the old file still gave lines in it, so the run does not
    // look; the new file's lines wait for the next run, which finds the old file stopped, checks the directory
    // at its end and reads the new file.
    appendFileSync(path, criLine(seq++));
    renameSync(path, `${path}.20261127-000000`);
    await window([path, other]);
    expect(await run(25)).toBe(0);
    expect(tailer.stats().rotations).toBe(0);
    await window([path, other]);
    expect(await run()).toBe(1);
    expect(tailer.stats()).toMatchObject({ rotations: 1, filesLost: 0 });
    await tailer.close();
  });

  it('checks a polled directory without files of its own at every discovery: new pods within a second', async () => {
    const r = root();
    writeFileSync(join(podLogDir(r, 'ns', 'first'), '0.log'), criLine(0));
    const { tailer, c, clock } = await settledTailer(r, { idleReadDelayMs: 5000 });
    // A churning cluster: pod directories come and go, the watch of var/log/pods fires often.
    for (let i = 0; i < 4; i++) rmSync(dirname(podLogDir(r, 'ns', `churn${i}`)), { recursive: true });
    await tick();
    clock.now += 800; // the review: var/log/pods is polled from now on
    c.add(await tailer.poll());
    expect(tailer.stats().watchesToPolling).toBeGreaterThanOrEqual(1);
    writeFileSync(join(podLogDir(r, 'ns', 'second'), '0.log'), criLine(1));
    clock.now += 800;
    c.add(await tailer.poll());
    expectExactlyOnce(c.seqs(), 2);
    await tailer.close();
  });

  it('polls the directories it cannot watch', async () => {
    const r = root();
    const path = join(podLogDir(r, 'ns', 'nowatch'), '0.log');
    writeFileSync(path, criLine(0));
    const broken: WatchBackend = () => {
      throw Object.assign(new Error('inotify watch limit reached'), { code: 'ENOSPC' });
    };
    const { tailer, c, clock } = await settledTailer(r, { watchBackend: broken });
    appendFileSync(path, criLine(1));
    writeFileSync(join(podLogDir(r, 'ns', 'later'), '0.log'), criLine(2));
    // As in `poll` mode: within idleReadDelayMs for the quiet file, discoveryIntervalMs for the new one.
    clock.now += 1000;
    c.add(await tailer.poll());
    expectExactlyOnce(c.seqs(), 3);
    expect(tailer.stats()).toMatchObject({ dirsWatched: 0, sweeps: 1 });
    expect(tailer.stats().watchFailures).toBeGreaterThan(0);
    await tailer.close();
  });
});
