// Seeded CRI log content for the benchmarks: a realistic mix of message shapes and lengths.

const TEMPLATES: Array<(r: () => number) => string> = [
  (r) => `GET /api/v1/orders/${r() % 100000} 200 ${r() % 900}ms user=${r().toString(16)}`,
  (r) => `level=info msg="request served" path=/cart/${r() % 5000} status=200 bytes=${r() % 50000}`,
  (r) => `connection from 10.${r() % 255}.${r() % 255}.${r() % 255}:${1024 + (r() % 60000)} accepted`,
  (r) =>
    `INFO  [worker-${r() % 16}] processed batch id=${r().toString(36)} items=${r() % 1000} in ${r() % 5000}us`,
  (r) => `WARN cache miss for key session:${r().toString(16)}${r().toString(16)}, falling back to database`,
  (r) =>
    `{"ts":"2024-01-01T00:00:00Z","level":"debug","caller":"server.go:${r() % 900}","msg":"tick","n":${r()}}`,
  (r) =>
    `ERROR failed to call payments:8080: context deadline exceeded (attempt ${r() % 5} of 5) trace=${r().toString(16)}`,
];

export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s;
  };
}

/** `count` CRI lines as one string; about 1 in 50 is split into P + F pieces like a runtime would. */
export function criLines(count: number, seed: number, startMs = Date.UTC(2024, 0, 1)): string {
  const r = seededRandom(seed);
  const parts: string[] = [];
  for (let i = 0; i < count; i++) {
    const ts = new Date(startMs + i).toISOString().replace('Z', '123456Z');
    const stream = r() % 10 === 0 ? 'stderr' : 'stdout';
    const msg = (TEMPLATES[r() % TEMPLATES.length] as (r: () => number) => string)(r);
    if (r() % 50 === 0) {
      const cut = msg.length >> 1;
      parts.push(`${ts} ${stream} P ${msg.slice(0, cut)}\n${ts} ${stream} F ${msg.slice(cut)}\n`);
    } else {
      parts.push(`${ts} ${stream} F ${msg}\n`);
    }
  }
  return parts.join('');
}

// Run as a program (`node fixtures.ts <path> <lines>`) so the benchmark process never holds the fixture.
if (process.argv[1] !== undefined && import.meta.filename === process.argv[1]) {
  const { writeFileSync } = await import('node:fs');
  const [path, linesText] = process.argv.slice(2) as [string, string];
  const total = Number(linesText);
  const block = 100_000;
  writeFileSync(path, '');
  for (let i = 0; i < total; i += block) {
    writeFileSync(path, criLines(Math.min(block, total - i), i + 1, Date.UTC(2024, 0, 1) + i), { flag: 'a' });
  }
}
