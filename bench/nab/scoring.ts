// NAB scoring, ported from numenta/NAB `nab/sweeper.py` (Sweeper.calcSweepScore, calcScoreByThreshold) and
// the normalisation in `nab/runner.py`: 100 × (raw − null) / (perfect − null), with null = every window
// missed and perfect = one detection at the left edge of every window.

export interface CostMatrix {
  tpWeight: number;
  fpWeight: number;
  fnWeight: number;
}

export const STANDARD_PROFILE: CostMatrix = { tpWeight: 1, fpWeight: 0.11, fnWeight: 1 };

export interface ScoredPoint {
  anomalyScore: number;
  /** Weighted score this point earns if detected. */
  sweepScore: number;
  /** Window id (file|start), undefined outside windows, 'probationary' inside the probation period. */
  windowName: string | undefined;
}

export function scaledSigmoid(relativePosition: number): number {
  if (relativePosition >= 3.0) return -1.0;
  return 2 / (1 + Math.exp(5 * relativePosition)) - 1.0;
}

export function probationaryLength(numRows: number, probationPercent = 0.15): number {
  return Math.min(Math.floor(probationPercent * numRows), probationPercent * 5000);
}

/** Per-row sweep scores of one file (sweeper.py calcSweepScore). `windows` are [startMs, endMs] pairs. */
export function sweepScores(
  timesMs: readonly number[],
  scores: readonly number[],
  windows: ReadonlyArray<readonly [number, number]>,
  fileName: string,
  cost: CostMatrix,
): ScoredPoint[] {
  const pending = [...windows];
  const out: ScoredPoint[] = [];
  const maxTP = scaledSigmoid(-1.0);
  const probation = probationaryLength(timesMs.length);
  let cur: readonly [number, number] | undefined;
  let curName: string | undefined;
  let curWidth = 0;
  let curRight = 0;
  let prevWidth: number | undefined;
  let prevRight: number | undefined;
  for (let i = 0; i < timesMs.length; i++) {
    const t = timesMs[i] as number;
    const next = pending[0];
    if (next !== undefined && t === next[0]) {
      cur = pending.shift();
      curName = `${fileName}|${next[0]}`;
      curRight = timesMs.indexOf(next[1]);
      curWidth = curRight - timesMs.indexOf(next[0]) + 1;
    }
    let weighted: number;
    if (cur !== undefined) {
      const position = -(curRight - i + 1) / curWidth;
      weighted = (scaledSigmoid(position) * cost.tpWeight) / maxTP;
    } else {
      const past =
        prevRight === undefined || prevWidth === undefined ? 3.0 : Math.abs(prevRight - i) / (prevWidth - 1);
      weighted = scaledSigmoid(past) * cost.fpWeight;
    }
    out.push({
      anomalyScore: scores[i] as number,
      sweepScore: weighted,
      windowName: i >= probation ? curName : 'probationary',
    });
    if (cur !== undefined && t === cur[1]) {
      prevRight = i;
      prevWidth = curWidth;
      cur = undefined;
      curName = undefined;
    }
  }
  return out;
}

export interface ThresholdScore {
  threshold: number;
  score: number;
  tp: number;
  fp: number;
  fn: number;
}

/** Score at every distinct threshold, highest first (sweeper.py calcScoreByThreshold). */
export function scoreByThreshold(points: readonly ScoredPoint[], cost: CostMatrix): ThresholdScore[] {
  const scorable = points
    .filter((p) => p.windowName !== 'probationary')
    .sort((a, b) => b.anomalyScore - a.anomalyScore);
  const parts = new Map<string, number>();
  let fpSum = 0;
  for (const p of scorable) if (p.windowName !== undefined) parts.set(p.windowName, -cost.fnWeight);
  let partsSum = [...parts.values()].reduce((a, b) => a + b, 0);
  let fn = scorable.filter((p) => p.windowName !== undefined).length;
  let tp = 0;
  let fp = 0;
  let threshold = 1.1;
  const result: ThresholdScore[] = [];
  for (const p of scorable) {
    if (p.anomalyScore !== threshold) {
      result.push({ threshold, score: partsSum + fpSum, tp, fp, fn });
      threshold = p.anomalyScore;
    }
    if (p.windowName !== undefined) {
      tp++;
      fn--;
      const before = parts.get(p.windowName) as number;
      const after = Math.max(before, p.sweepScore);
      parts.set(p.windowName, after);
      partsSum += after - before;
    } else {
      fp++;
      fpSum += p.sweepScore;
    }
  }
  result.push({ threshold, score: partsSum + fpSum, tp, fp, fn });
  return result;
}

export interface FileDetections {
  raw: number;
  windows: number;
  windowsDetected: number;
  falsePositives: number;
}

/** Raw NAB score of binary decisions for one file: only the first detection in a window counts. */
export function scoreDecisions(
  points: readonly ScoredPoint[],
  detected: readonly boolean[],
  cost: CostMatrix,
): FileDetections {
  const best = new Map<string, number>();
  let fpSum = 0;
  let falsePositives = 0;
  for (let i = 0; i < points.length; i++) {
    const p = points[i] as ScoredPoint;
    if (p.windowName === 'probationary') continue;
    if (p.windowName !== undefined && !best.has(p.windowName)) best.set(p.windowName, -cost.fnWeight);
    if (!detected[i]) continue;
    if (p.windowName === undefined) {
      fpSum += p.sweepScore;
      falsePositives++;
    } else {
      best.set(p.windowName, Math.max(best.get(p.windowName) as number, p.sweepScore));
    }
  }
  let raw = fpSum;
  let windowsDetected = 0;
  for (const v of best.values()) {
    raw += v;
    if (v > -cost.fnWeight) windowsDetected++;
  }
  return { raw, windows: best.size, windowsDetected, falsePositives };
}

/** NAB's normalised score. */
export function normalise(raw: number, windowCount: number, cost: CostMatrix): number {
  const nullScore = -cost.fnWeight * windowCount;
  const perfect = cost.tpWeight * windowCount;
  return (100 * (raw - nullScore)) / (perfect - nullScore);
}
