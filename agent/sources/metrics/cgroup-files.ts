// Parsers for the cgroup v2 interface files the collector reads (Documentation/admin-guide/cgroup-v2.rst).

/** Flat keyed files (`memory.events`, `cpu.stat`): one `key value` pair per line. */
export function parseFlatKeyed(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const sp = line.indexOf(' ');
    if (sp <= 0) continue;
    const v = Number(line.slice(sp + 1));
    if (Number.isFinite(v)) out.set(line.slice(0, sp), v);
  }
  return out;
}

export interface IoBytes {
  readBytes: number;
  writeBytes: number;
}

/** `io.stat`: `8:0 rbytes=… wbytes=… rios=… wios=… dbytes=… dios=…` per device, summed over devices. */
export function parseIoStat(text: string): IoBytes {
  let readBytes = 0;
  let writeBytes = 0;
  for (const line of text.split('\n')) {
    for (const pair of line.split(' ')) {
      if (pair.startsWith('rbytes=')) readBytes += Number(pair.slice(7)) || 0;
      else if (pair.startsWith('wbytes=')) writeBytes += Number(pair.slice(7)) || 0;
    }
  }
  return { readBytes, writeBytes };
}
