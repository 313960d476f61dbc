// Incidents, remediation actions and guardrail state in the aggregator's LMDB environment, so an aggregator
// restart keeps the incident a person is looking at, a pending approval and a cooldown. Three named
// databases, msgpack: `incidents` (id → incident with its anchors), `remediation` (incident id → plan and
// actions), `incident-engine` (`state` → id sequences and guardrails). A record that does not decode or has
// the wrong shape is logged with its key and skipped: one bad record never stops the aggregator.
import type { Database, RootDatabase } from 'lmdb';
import type { Logger } from '../../common/log.ts';
import type { StoredIncident } from '../correlate/correlator.ts';
import type {
  EngineStateStore,
  EngineStateWrite,
  StoredEngineMeta,
  StoredEngineState,
  StoredRemediation,
} from '../correlate/engine-state.ts';

const META_KEY = 'state';

export const INCIDENT_DB_NAMES = {
  incidents: 'incidents',
  remediation: 'remediation',
  meta: 'incident-engine',
} as const;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isStoredIncident(v: unknown): v is StoredIncident {
  if (!isObject(v) || !isObject(v['incident']) || !isObject(v['anchors'])) return false;
  const inc = v['incident'];
  const anchors = v['anchors'];
  return (
    typeof inc['id'] === 'string' &&
    typeof inc['status'] === 'string' &&
    typeof inc['openedMs'] === 'number' &&
    typeof inc['lastSignalMs'] === 'number' &&
    Array.isArray(inc['groups']) &&
    inc['groups'].every((g) => isObject(g) && typeof g['key'] === 'string' && isObject(g['exemplar'])) &&
    Array.isArray(inc['timeline']) &&
    Array.isArray(inc['rootCauses']) &&
    Array.isArray(inc['actions']) &&
    Array.isArray(anchors['identity']) &&
    Array.isArray(anchors['calls']) &&
    Array.isArray(anchors['hosts']) &&
    typeof v['lastIngestMs'] === 'number'
  );
}

function isStoredRemediation(v: unknown): v is StoredRemediation {
  if (!isObject(v) || typeof v['incidentId'] !== 'string' || !Array.isArray(v['actions'])) return false;
  const plan = v['plan'];
  const planOk =
    plan === undefined ||
    (isObject(plan) && typeof plan['rule'] === 'string' && Array.isArray(plan['actionIds']));
  return (
    planOk &&
    v['actions'].every(
      (a) =>
        isObject(a) &&
        typeof a['id'] === 'string' &&
        typeof a['status'] === 'string' &&
        isObject(a['target']),
    )
  );
}

function isMeta(v: unknown): v is StoredEngineMeta {
  if (!isObject(v) || !isObject(v['guardrails'])) return false;
  const g = v['guardrails'];
  return (
    typeof v['savedAtMs'] === 'number' &&
    typeof v['incidentSeq'] === 'number' &&
    typeof v['actionSeq'] === 'number' &&
    Array.isArray(g['targets']) &&
    Array.isArray(g['recent']) &&
    Array.isArray(g['perIncident'])
  );
}

export class IncidentStore implements EngineStateStore {
  readonly #root: RootDatabase;
  readonly #logger: Logger;
  readonly #incidents: Database<StoredIncident, string>;
  readonly #remediation: Database<StoredRemediation, string>;
  readonly #meta: Database<StoredEngineMeta, string>;

  /** `root` is the aggregator's LMDB environment (`AggregatorStore.root`). */
  constructor(root: RootDatabase, logger: Logger) {
    this.#root = root;
    this.#logger = logger;
    this.#incidents = root.openDB({ name: INCIDENT_DB_NAMES.incidents, encoding: 'msgpack' });
    this.#remediation = root.openDB({ name: INCIDENT_DB_NAMES.remediation, encoding: 'msgpack' });
    this.#meta = root.openDB({ name: INCIDENT_DB_NAMES.meta, encoding: 'msgpack' });
  }

  load(): StoredEngineState {
    const incidents = this.#readAll(this.#incidents, INCIDENT_DB_NAMES.incidents, isStoredIncident);
    const remediation = this.#readAll(this.#remediation, INCIDENT_DB_NAMES.remediation, isStoredRemediation);
    const meta = this.#read(this.#meta, INCIDENT_DB_NAMES.meta, META_KEY, isMeta);
    return meta ? { meta, incidents, remediation } : { incidents, remediation };
  }

  save(write: EngineStateWrite): Promise<void> {
    return this.#root.transaction(() => {
      for (const id of write.removed) {
        this.#incidents.remove(id);
        this.#remediation.remove(id);
      }
      for (const s of write.incidents) this.#incidents.put(s.incident.id, s);
      for (const r of write.remediation) this.#remediation.put(r.incidentId, r);
      this.#meta.put(META_KEY, write.meta);
    }) as Promise<void>;
  }

  #readAll<T>(db: Database<T, string>, name: string, valid: (v: unknown) => v is T): T[] {
    const out: T[] = [];
    for (const key of db.getKeys({})) {
      const value = this.#read(db, name, key, valid);
      if (value !== undefined) out.push(value);
    }
    return out;
  }

  #read<T>(db: Database<T, string>, name: string, key: string, valid: (v: unknown) => v is T): T | undefined {
    let value: unknown;
    try {
      value = db.get(key);
    } catch (error) {
      this.#logger.error(
        { db: name, key, err: error },
        'stored incident record does not decode; skipped (the aggregator starts without it)',
      );
      return undefined;
    }
    if (value === undefined) return undefined;
    if (!valid(value)) {
      this.#logger.error(
        { db: name, key },
        'stored incident record has an unexpected shape; skipped (the aggregator starts without it)',
      );
      return undefined;
    }
    return value;
  }
}
