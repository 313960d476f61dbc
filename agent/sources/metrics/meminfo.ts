// /proc/meminfo, in bytes. "Used" is MemTotal − MemAvailable, the kernel's own estimate of what can be
// had without swapping (the same definition `free` and the kubelet's node memory use).

export interface Meminfo {
  totalBytes: number;
  availableBytes: number;
  swapTotalBytes: number;
  swapFreeBytes: number;
}

export function parseMeminfo(text: string): Meminfo | undefined {
  const kb = new Map<string, number>();
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const value = Number.parseInt(line.slice(colon + 1), 10);
    if (Number.isFinite(value)) kb.set(line.slice(0, colon), value);
  }
  const totalKb = kb.get('MemTotal');
  if (totalKb === undefined) return undefined;
  // Kernels before 3.14 have no MemAvailable: approximate it the way `free` did then.
  const availableKb =
    kb.get('MemAvailable') ?? (kb.get('MemFree') ?? 0) + (kb.get('Buffers') ?? 0) + (kb.get('Cached') ?? 0);
  return {
    totalBytes: totalKb * 1024,
    availableBytes: Math.min(totalKb, availableKb) * 1024,
    swapTotalBytes: (kb.get('SwapTotal') ?? 0) * 1024,
    swapFreeBytes: (kb.get('SwapFree') ?? 0) * 1024,
  };
}
