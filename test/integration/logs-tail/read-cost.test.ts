import { appendFileSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LogTailer } from '../../../agent/sources/logs/tailer.ts';
import { Collector, criLine, expectExactlyOnce, makeHostRoot, podLogDir, pollUntil } from './helpers.ts';

function lines(from: number, to: number): string {
  let text = '';
  for (let i = from; i < to; i++) text += criLine(i);
  return text;
}

/** A first line longer than the 256-byte fingerprint, identical before and after the truncation. */
const HEADER = `2024-01-01T00:00:00.000000000Z stdout F ${'same banner '.repeat(30)}\n`;

describe('what one read of a file costs', () => {
  let cleanup = () => {};
  afterEach(() => cleanup());

  /** A pod log file holding `content`, a polling tailer on a clock the test moves, and a collector. */
  function polled(pod: string, content: string, idleReadDelayMs: number) {
    const host = makeHostRoot();
    cleanup = host.cleanup;
    const dir = podLogDir(host.root, 'ns', pod);
    const path = join(dir, '0.log');
    writeFileSync(path, content);
    const clock = { now: 1_000_000 };
    const tailer = new LogTailer({
      hostRoot: host.root,
      now: () => clock.now,
      changeDetection: 'poll',
      idleReadDelayMs,
    });
    return { root: host.root, dir, path, clock, tailer, c: new Collector() };
  }

  it('reads a growing file with one pread per poll: no second read to re-check its leading bytes', async () => {
    const { path, clock, tailer, c } = polled('grow', lines(0, 50), 0);
    c.add(await tailer.poll());
    const before = tailer.stats().fileReads;
    for (let i = 0; i < 5; i++) {
      appendFileSync(path, lines(50 + i * 10, 60 + i * 10));
      clock.now += 100;
      c.add(await tailer.poll());
    }
    expectExactlyOnce(c.seqs(), 100);
    expect(tailer.stats().fileReads - before).toBe(5);
    await tailer.close();
  });

  it('keeps a trickling file on its read delay even when a read finds more than 4 KiB; reads a busy one every poll', async () => {
    const { dir, path, clock, tailer, c } = polled('slow', lines(0, 1), 5000);
    const busy = join(dir, '1.log');
    writeFileSync(busy, '');
    let seq = 1;
    let slowReads = 0;
    let busyMissed = 0;
    const reads = () => tailer.stats().fileReads;
    // ~1.4 KiB/s into one file, ~80 KiB/s into the other; 250 ms polls for 30 s.
    for (let i = 0; i < 120; i++) {
      if (i % 2 === 0) {
        appendFileSync(path, lines(seq, seq + 10));
        seq += 10;
      }
      appendFileSync(busy, lines(seq, seq + 280));
      seq += 280;
      clock.now += 250;
      const before = reads();
      c.add(await tailer.poll());
      if (i >= 40) {
        // The busy file's last line (written last) is read by this very poll; its read is the one subtracted.
        if (!c.seqs().includes(seq - 1)) busyMissed++;
        slowReads += reads() - before - 1;
      }
    }
    // The slow file's reads of ~7 KiB every 5 s do not make it busy (by bytes alone it would restart at
    // 100 ms after each: ~12 reads in these 20 s).
    expect(slowReads).toBeLessThanOrEqual(6);
    expect(busyMissed).toBe(0);
    c.add(await tailer.pollAll());
    expectExactlyOnce(c.seqs(), seq);
    await tailer.close();
  });

  it('reads a trickling host log at least every second whatever idleReadDelayMs says', async () => {
    const { root, path, clock, tailer, c } = polled('beside', lines(0, 1), 5000);
    const auth = join(root, 'var/log/auth.log');
    const authLine = (seq: number) => `Jan  1 00:00:00 node sshd[1]: seq=${seq} Failed password\n`;
    writeFileSync(auth, authLine(100));
    c.add(await tailer.poll());
    // 10 s of a line a second into each: the host log's delay stops at 1 s, the container log's goes on to 5 s.
    for (let i = 1; i <= 40; i++) {
      if (i % 4 === 0) {
        appendFileSync(auth, authLine(100 + i / 4));
        appendFileSync(path, lines(i / 4, i / 4 + 1));
      }
      clock.now += 250;
      c.add(await tailer.poll());
    }
    // Every host line but the one of the last second has been read; the container log lags up to 5 s.
    expect(Math.max(...c.seqs())).toBeGreaterThanOrEqual(109);
    expect(Math.max(...c.seqs().filter((x) => x < 100))).toBeLessThan(8);
    c.add(await tailer.pollAll());
    expectExactlyOnce(
      c
        .seqs()
        .filter((x) => x >= 100)
        .map((x) => x - 100),
      11,
    );
    expectExactlyOnce(
      c.seqs().filter((x) => x < 100),
      11,
    );
    await tailer.close();
  });

  it('pollAll reads what a trickling file holds before its read delay is over', async () => {
    const { path, clock, tailer, c } = polled('due', lines(0, 1), 5000);
    c.add(await tailer.poll());
    for (let i = 1; i <= 20; i++) {
      appendFileSync(path, lines(i, i + 1));
      clock.now += 250;
      c.add(await tailer.poll());
    }
    // Settled at a read every 5 s: lines written just after a read wait for the next one...
    const readUpTo = Math.max(...c.seqs());
    appendFileSync(path, lines(21, 24));
    clock.now += 250;
    c.add(await tailer.poll());
    expect(Math.max(...c.seqs())).toBe(readUpTo);
    // ...unless a window is closing: pollAll reads them at once.
    c.add(await tailer.pollAll());
    expectExactlyOnce(c.seqs(), 24);
    await tailer.close();
  });

  it('pollAll leaves each file its own read schedule, and a run of pollAll calls reads each file once', async () => {
    const { dir, path, clock, tailer, c } = polled('phase0', lines(0, 1), 5000);
    const paths = [path];
    let seq = 1;
    // 20 trickling files started 250 ms apart: their reads every 5 s fall in different polls.
    for (let i = 1; i < 20; i++) {
      paths.push(join(dir, `${i}.log`));
      writeFileSync(paths[i]!, lines(seq, seq + 1));
      seq++;
      clock.now += 250;
      c.add(await tailer.poll());
    }
    const step = async () => {
      for (const p of paths) appendFileSync(p, lines(seq, ++seq));
      clock.now += 250;
      const before = tailer.stats().fileReads;
      c.add(await tailer.poll());
      return tailer.stats().fileReads - before;
    };
    for (let i = 0; i < 40; i++) await step();
    c.add(await tailer.pollAll());
    const perPoll: number[] = [];
    for (let i = 0; i < 40; i++) perPoll.push(await step());
    expect(Math.max(...perPoll)).toBeLessThanOrEqual(4);
    // A run of pollAll calls on a small budget (each continues the last) reads every file once, not once
    // per call: 20 files of ~1.5 KiB in polls of 4 KiB.
    for (const p of paths) for (let k = 0; k < 20; k++) appendFileSync(p, lines(seq, ++seq));
    const before = tailer.stats().fileReads;
    let calls = 0;
    for (let more = true; more; calls++) {
      const r = await tailer.pollAll(4096);
      c.add(r);
      more = r.more;
    }
    expect(calls).toBeGreaterThan(3);
    expect(tailer.stats().fileReads - before).toBeLessThanOrEqual(paths.length + calls);
    expectExactlyOnce(c.seqs(), seq);
    await tailer.close();
  });

  it('leaves a trickling container file to the next pollAll when its runs are regular, but not a host log or a fuller file', async () => {
    const { root, dir, path, clock, tailer, c } = polled('park0', lines(0, 1), 5000);
    const trickling = [path];
    for (let i = 1; i < 10; i++) {
      trickling.push(join(dir, `${i}.log`));
      writeFileSync(trickling[i]!, '');
    }
    // ~6 KiB/s: not busy (16 KiB/s), but more than 32 KiB between two runs 10 s apart.
    const fuller = join(podLogDir(root, 'ns', 'fuller'), '0.log');
    writeFileSync(fuller, '');
    const auth = join(root, 'var/log/auth.log');
    writeFileSync(auth, '');
    let seq = 1;
    let hostSeq = 1_000_000;
    const hostLines: number[] = [];
    const betweenRuns: number[] = [];
    let hostLate = 0;
    let fullerLate = 0;
    // 60 s of 250 ms polls with a pollAll every 10 s (a window closing). Each poll: a line into every trickling
    // file, ~1.5 KiB into the fuller one, and every 4th a line into auth.log.
    for (let run = 0; run < 6; run++) {
      const before = tailer.stats().fileReads;
      let fullerEarly = -1;
      for (let i = 0; i < 40; i++) {
        for (const p of trickling) appendFileSync(p, lines(seq, ++seq));
        if (i === 10) fullerEarly = seq;
        appendFileSync(fuller, lines(seq, seq + 20));
        seq += 20;
        if (i % 4 === 0) {
          appendFileSync(auth, `Jan  1 00:00:00 node sshd[1]: seq=${hostSeq} Failed password\n`);
          hostLines.push(hostSeq++);
        }
        clock.now += 250;
        c.add(await tailer.poll());
        // The host log keeps its 1 s cap: a line written 1.25 s ago has been read.
        const due = hostLines[hostLines.length - 2];
        if (run >= 2 && due !== undefined && !c.seqs().includes(due)) hostLate++;
      }
      betweenRuns.push(tailer.stats().fileReads - before);
      // The fuller file keeps its own 5 s schedule: what it got 7 s before the run has been read already.
      if (run >= 2 && !c.seqs().includes(fullerEarly)) fullerLate++;
      for (let more = true; more; ) more = c.add(await tailer.pollAll()).more;
      // Each run counts everything written before it.
      expectExactlyOnce(
        c.seqs().filter((x) => x < 1_000_000),
        seq,
      );
    }
    expect(hostLate).toBe(0);
    expect(fullerLate).toBe(0);
    // Once the runs are regular (from the third on), the 10 trickling files are not read in between: ~10 host
    // reads and 2-3 of the fuller file. Each on its own 5 s delay, they would add 20 reads.
    for (const reads of betweenRuns.slice(3)) expect(reads).toBeLessThanOrEqual(15);
    expect(betweenRuns[0]).toBeGreaterThan(25);
    await tailer.close();
  });

  it('reads a parked file at every poll once it holds more than a chunk, without waiting for the next pollAll', async () => {
    const { path, clock, tailer, c } = polled('backlog', lines(0, 1), 5000);
    let seq = 1;
    for (let run = 0; run < 3; run++) {
      for (let i = 0; i < 40; i++) {
        appendFileSync(path, lines(seq, ++seq));
        clock.now += 250;
        c.add(await tailer.poll());
      }
      for (let more = true; more; ) more = c.add(await tailer.pollAll()).more;
    }
    // Parked now. ~1 MiB arrives; the closing window's reads stop at its budget (a backlog)...
    appendFileSync(path, lines(seq, seq + 15_000));
    seq += 15_000;
    const first = c.add(await tailer.pollAll(64 * 1024));
    expect(first.more).toBe(true);
    // ...and the polls after it go on reading the file, at once.
    for (let i = 0; i < 40 && c.maxSeq() < seq - 1; i++) {
      clock.now += 250;
      c.add(await tailer.poll());
    }
    expectExactlyOnce(c.seqs(), seq);
    await tailer.close();
  });

  it('reads a trickling file at most every idleReadDelayMs, and a new file at the first poll after its listing', async () => {
    const { dir, path, clock, tailer, c } = polled('trickle', lines(0, 1), 2000);
    c.add(await tailer.poll());
    const before = tailer.stats().fileReads;
    // 8 s of a 250 ms poll loop, one line per poll: the delay doubles from 100 ms to 2 s, then stays there.
    for (let i = 1; i <= 32; i++) {
      appendFileSync(path, lines(i, i + 1));
      clock.now += 250;
      c.add(await tailer.poll());
    }
    const reads = tailer.stats().fileReads - before;
    expect(reads).toBeGreaterThanOrEqual(4);
    expect(reads).toBeLessThanOrEqual(8);
    // A new file in the same directory: read at the first poll after the next listing (≤ 800 ms), not later.
    writeFileSync(join(dir, '1.log'), lines(100, 101));
    let polls = 0;
    while (!c.seqs().includes(100) && polls < 4) {
      clock.now += 250;
      polls++;
      c.add(await tailer.poll());
    }
    expect(c.seqs()).toContain(100);
    clock.now += 2000;
    c.add(await tailer.poll());
    expectExactlyOnce(
      c.seqs().filter((s) => s !== 100),
      33,
    );
    await tailer.close();
  });

  it('catches a file truncated and regrown past our offset even when its leading bytes are unchanged', async () => {
    const { path, clock, tailer, c } = polled('same-head', HEADER + lines(0, 100), 0);
    c.add(await tailer.poll());
    expectExactlyOnce(c.seqs(), 100);
    // Truncated and rewritten with the same first line, past the old size, before the next read.
    truncateSync(path, 0);
    appendFileSync(path, HEADER + lines(1000, 1200));
    clock.now += 100;
    await pollUntil(tailer, c, () => c.seqs().includes(1199));
    expectExactlyOnce(
      c
        .seqs()
        .filter((s) => s >= 1000)
        .map((s) => s - 1000),
      200,
    );
    expect(c.records.filter((r) => r.text.startsWith('same banner')).length).toBe(2);
    expect(tailer.stats().copytruncates).toBe(1);
    await tailer.close();
  });
});
