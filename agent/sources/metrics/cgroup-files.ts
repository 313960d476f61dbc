// Parsers for the cgroup v2 interface files the collector reads (Documentation/admin-guide/cgroup-v2.rst).

/**
 * One value of a flat keyed file (`memory.events`, `cpu.stat`, `memory.stat`: one `key value` pair per
 * line), found without building a map: the hot path reads three keys of `cpu.stat` and
 * one of `memory.events` per container per second.
 */
export function keyedValue(text: string, key: string): number | undefined {
  let at = text.startsWith(key) && text.charCodeAt(key.length) === 32 ? 0 : -1;
  if (at < 0) {
    let from = 0;
    for (;;) {
      const i = text.indexOf(key, from);
      if (i < 0) return undefined;
      if (text.charCodeAt(i - 1) === 10 && text.charCodeAt(i + key.length) === 32) {
        at = i;
        break;
      }
      from = i + 1;
    }
  }
  const start = at + key.length + 1;
  const nl = text.indexOf('\n', start);
  const v = Number(text.slice(start, nl < 0 ? text.length : nl));
  return Number.isFinite(v) ? v : undefined;
}

export interface IoBytes {
  readBytes: number;
  writeBytes: number;
}

/** `io.stat`: `8:0 rbytes=… wbytes=… rios=… wios=… dbytes=… dios=…` per device, summed over devices. */
export function parseIoStat(text: string): IoBytes {
  return { readBytes: sumField(text, 'rbytes='), writeBytes: sumField(text, 'wbytes=') };
}

function sumField(text: string, field: string): number {
  let sum = 0;
  for (let i = text.indexOf(field); i >= 0; i = text.indexOf(field, i + field.length)) {
    const start = i + field.length;
    let end = start;
    while (end < text.length && text.charCodeAt(end) >= 48 && text.charCodeAt(end) <= 57) end++;
    sum += Number(text.slice(start, end)) || 0;
  }
  return sum;
}
