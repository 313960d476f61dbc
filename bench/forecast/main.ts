// Exhaustion-forecast benchmark: seeded synthetic leaks/fills with known exhaustion times and non-leaking
// look-alikes. Reports the lead time of the first warning, the error of the predicted exhaustion time at
// that warning, and warnings on look-alikes. Usage: npx node bench/forecast/main.ts [--seeds N]
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createExhaustionForecaster } from '../../agent/detect/metrics/forecast.ts';
import { FORECAST_SCENARIOS, type ForecastScenario, gaussian, seededRandom } from './scenarios.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const { values: args } = parseArgs({ options: { seeds: { type: 'string', default: '5' } } });
const seeds = Number(args.seeds);
const MIN = 60_000;

export interface RunResult {
  exhaustionMs: number | undefined;
  firstWarningMs: number | undefined;
  predictedAtWarningMs: number | undefined;
  warnings: number;
}

export function runScenario(s: ForecastScenario, seed: number): RunResult {
  const noise = gaussian(seededRandom(seed));
  const f = createExhaustionForecaster();
  let exhaustionMs: number | undefined;
  let firstWarningMs: number | undefined;
  let predictedAtWarningMs: number | undefined;
  let warnings = 0;
  for (let t = 0; t <= s.durationMs; t += s.stepMs) {
    const used = s.usage(t, noise);
    // Exhaustion = the noise-free curve reaching capacity (what the forecast should predict).
    if (exhaustionMs === undefined && s.usage(t, () => 0) >= s.capacity) exhaustionMs = t;
    if (exhaustionMs !== undefined) break;
    const r = f.update(t, Math.min(used, s.capacity), s.capacity);
    if (r?.started) {
      warnings++;
      if (firstWarningMs === undefined) {
        firstWarningMs = t;
        predictedAtWarningMs = t + (r.etaMs ?? Number.NaN);
      }
    }
  }
  return { exhaustionMs, firstWarningMs, predictedAtWarningMs, warnings };
}

const rows = FORECAST_SCENARIOS.map((s) => {
  const runs = Array.from({ length: seeds }, (_, i) => runScenario(s, 1000 + i));
  const leads = runs.flatMap((r) =>
    r.exhaustionMs !== undefined && r.firstWarningMs !== undefined
      ? [(r.exhaustionMs - r.firstWarningMs) / MIN]
      : [],
  );
  const errors = runs.flatMap((r) =>
    r.exhaustionMs !== undefined && r.predictedAtWarningMs !== undefined
      ? [(r.predictedAtWarningMs - r.exhaustionMs) / MIN]
      : [],
  );
  const warned = runs.filter((r) => r.firstWarningMs !== undefined).length;
  return {
    scenario: s.name,
    exhausts: s.exhausts,
    runs: runs.length,
    warned,
    minLeadMin: leads.length ? Math.min(...leads) : null,
    meanLeadMin: leads.length ? leads.reduce((a, b) => a + b, 0) / leads.length : null,
    meanAbsEtaErrorMin: errors.length ? errors.reduce((a, b) => a + Math.abs(b), 0) / errors.length : null,
    meanEtaErrorMin: errors.length ? errors.reduce((a, b) => a + b, 0) / errors.length : null,
    warningEpisodes: runs.reduce((a, r) => a + r.warnings, 0),
  };
});

const fmt = (v: number | null) => (v === null ? '–' : v.toFixed(1));
console.log(
  '| scenario | exhausts | warned | min lead (min) | mean lead (min) | ETA error at warning (min, mean / mean abs) | warning episodes |',
);
console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows)
  console.log(
    `| ${r.scenario} | ${r.exhausts ? 'yes' : 'no'} | ${r.warned}/${r.runs} | ${fmt(r.minLeadMin)} | ${fmt(r.meanLeadMin)} | ${fmt(r.meanEtaErrorMin)} / ${fmt(r.meanAbsEtaErrorMin)} | ${r.warningEpisodes} |`,
  );
const leaks = rows.filter((r) => r.exhausts);
const lookAlikes = rows.filter((r) => !r.exhausts);
const late = leaks.filter((r) => !(r.warned === r.runs && (r.minLeadMin ?? 0) >= 30));
const allWarned30 = late.length === 0;
const falseWarnings = lookAlikes.reduce((a, r) => a + r.warningEpisodes, 0);
console.log(
  `\nexhaustions warned ≥ 30 min ahead in every run: ${leaks.length - late.length} of ${leaks.length} scenarios${
    late.length ? ` (not: ${late.map((r) => r.scenario).join('; ')})` : ''
  }; warnings on look-alikes: ${falseWarnings}`,
);

mkdirSync(join(root, 'bench/results'), { recursive: true });
writeFileSync(
  join(root, 'bench/results/forecast.json'),
  `${JSON.stringify(
    { benchmark: 'forecast', seeds, allWarned30, late: late.map((r) => r.scenario), falseWarnings, rows },
    null,
    2,
  )}\n`,
);
