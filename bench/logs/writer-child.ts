// Appends CRI lines to many files at a fixed per-file rate (a separate process, so its CPU is not the
// tailer's). Prints the number of lines written when done.
import { closeSync, openSync, writeSync } from 'node:fs';

const [listJson, rateText, secondsText] = process.argv.slice(2) as [string, string, string];
const paths = JSON.parse(listJson) as string[];
const perSecond = Number(rateText);
const seconds = Number(secondsText);
const fds = paths.map((p) => openSync(p, 'a'));
const tickMs = 100;
const perTick = perSecond / (1000 / tickMs);
let written = 0;
let carry = 0;
const start = Date.now();
for (let tick = 0; Date.now() - start < seconds * 1000; tick++) {
  carry += perTick;
  const n = Math.floor(carry);
  carry -= n;
  if (n > 0) {
    const ts = new Date().toISOString().replace('Z', '000000Z');
    for (let f = 0; f < fds.length; f++) {
      let text = '';
      for (let i = 0; i < n; i++)
        text += `${ts} stdout F GET /api/items/${tick} 200 ${f} line ${written + i}\n`;
      writeSync(fds[f] as number, text);
    }
    written += n * fds.length;
  }
  const next = start + (tick + 1) * tickMs;
  await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
}
for (const fd of fds) closeSync(fd);
process.stdout.write(`${written}\n`);
