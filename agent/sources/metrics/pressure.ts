// Pressure stall information, /proc/pressure/{cpu,memory,io} (kernel ≥ 4.20 with PSI enabled):
//   some avg10=0.12 avg60=0.05 avg300=0.01 total=123456
//   full avg10=0.00 avg60=0.00 avg300=0.00 total=0
// avgN are percentages of wall time; total is cumulative stall time in microseconds.

export interface PressureLine {
  avg10: number;
  avg60: number;
  avg300: number;
  totalUsec: number;
}

export interface Pressure {
  some?: PressureLine;
  full?: PressureLine;
}

export function parsePressure(text: string): Pressure {
  const out: Pressure = {};
  for (const line of text.split('\n')) {
    const kind = line.startsWith('some ') ? 'some' : line.startsWith('full ') ? 'full' : undefined;
    if (!kind) continue;
    const fields: Record<string, number> = {};
    for (const pair of line.slice(5).split(' ')) {
      const eq = pair.indexOf('=');
      if (eq > 0) fields[pair.slice(0, eq)] = Number(pair.slice(eq + 1));
    }
    const { avg10, avg60, avg300, total } = fields;
    if (avg10 === undefined || avg60 === undefined || avg300 === undefined || total === undefined) continue;
    out[kind] = { avg10, avg60, avg300, totalUsec: total };
  }
  return out;
}
