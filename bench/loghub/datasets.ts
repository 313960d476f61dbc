// The eight Loghub-2k datasets in the shared data folder: input lines and both ground-truth variants.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readCsvRecords } from './csv.ts';

export const DATASETS = [
  'HDFS',
  'Hadoop',
  'Spark',
  'Zookeeper',
  'BGL',
  'OpenSSH',
  'Apache',
  'Linux',
] as const;
export type DatasetName = (typeof DATASETS)[number];

/** Published Drain GA (Zhu et al. 2019, tuned per dataset). */
export const DRAIN_GA: Record<DatasetName, number> = {
  HDFS: 0.998,
  Hadoop: 0.948,
  Spark: 0.92,
  Zookeeper: 0.967,
  BGL: 0.963,
  OpenSSH: 0.788,
  Apache: 1.0,
  Linux: 0.69,
};

export const DEFAULT_DATA_DIR = new URL('../../../shared/data/loghub2k/', import.meta.url).pathname;

export interface Dataset {
  name: DatasetName;
  /** The `Content` column (the message to template). */
  lines: string[];
  /** Ground-truth `EventTemplate` per line, Loghub-2.0 corrected. */
  truthCorrected: string[];
  /** Ground-truth `EventTemplate` per line, original ICSE-SEIP 2019 labels. */
  truthOriginal: string[];
}

export function loadDataset(dataDir: string, name: DatasetName): Dataset {
  const corrected = readCsvRecords(
    readFileSync(join(dataDir, name, `${name}_2k.log_structured_corrected.csv`), 'utf8'),
  );
  const original = readCsvRecords(readFileSync(join(dataDir, name, `${name}_2k.log_structured.csv`), 'utf8'));
  if (corrected.length !== original.length) throw new Error(`${name}: ground-truth files differ in length`);
  return {
    name,
    lines: corrected.map((r) => r['Content'] ?? ''),
    truthCorrected: corrected.map((r) => r['EventTemplate'] ?? ''),
    truthOriginal: original.map((r) => r['EventTemplate'] ?? ''),
  };
}
