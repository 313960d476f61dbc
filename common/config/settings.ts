// One table per process describes every setting once: its flag, env var, default, meaning and schema.
// From it come the commander options, the validated config (flag › env › file › default) and the README
// tables, so the four can never disagree.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';

export interface Setting<T = unknown> {
  flag: string;
  env: string;
  description: string;
  schema: z.ZodType<T>;
  default?: T;
  /** How the default reads in docs when it depends on the machine (e.g. `hostname`). */
  defaultText?: string;
}

export type Settings = Record<string, Setting>;

export type ConfigOf<S extends Settings> = {
  [K in keyof S]: S[K] extends Setting<infer T> ? T : never;
};

export function setting<T>(s: Setting<T>): Setting<T> {
  return s;
}

/** Numbers from flags and env arrive as strings. */
export const number = () => z.coerce.number<string | number>();
export const boolean = () => z.union([z.boolean(), z.stringbool()]);

const UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  m: 1e6,
  g: 1e9,
  ki: 1024,
  mi: 1024 ** 2,
  gi: 1024 ** 3,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
};

/** A byte size: a number or a string like `256Mi`, `1.5G`, `64KB` (Kubernetes' quantity suffixes). */
export const bytes = () =>
  z.union([z.number(), z.string()]).transform((v, ctx) => {
    if (typeof v === 'number') return v;
    const m = /^\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*$/.exec(v);
    const unit = m ? UNITS[m[2]!.toLowerCase()] : undefined;
    if (!m || unit === undefined) {
      ctx.addIssue({ code: 'custom', message: 'expected a byte size such as 268435456, 256Mi or 1G' });
      return z.NEVER;
    }
    return Math.round(Number(m[1]) * unit);
  });

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Adds one `--flag <value>` option per setting. */
export function addOptions(command: Command, settings: Settings): Command {
  for (const s of Object.values(settings)) {
    const shown = s.default === undefined ? '' : ` (default: ${JSON.stringify(s.default)})`;
    command.option(`--${s.flag} <value>`, `${s.description} [env ${s.env}]${shown}`);
  }
  return command.option('--config <file>', 'YAML config file [env VIGIL_CONFIG]');
}

function flagKey(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function readFile(path: string, section: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ConfigError(`config file ${path}: ${(error as Error).message}`);
  }
  if (parsed == null) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(`config file ${path}: expected a mapping at the top level`);
  }
  // A file may hold one section per process (`agent:`, `aggregator:`) so one ConfigMap serves both.
  const top = parsed as Record<string, unknown>;
  const inner = top[section];
  return inner && typeof inner === 'object' ? (inner as Record<string, unknown>) : top;
}

/**
 * Validated configuration: flag › env › file › default. An invalid value throws a ConfigError naming the
 * setting, where the value came from and the value itself.
 */
export function loadConfig<S extends Settings>(
  settings: S,
  sources: { flags?: Record<string, unknown>; env?: NodeJS.ProcessEnv; section: string },
): ConfigOf<S> {
  const flags = sources.flags ?? {};
  const env = sources.env ?? {};
  const filePath = (flags['config'] as string | undefined) ?? env['VIGIL_CONFIG'];
  const file = filePath ? readFile(filePath, sources.section) : {};
  const known = new Set(Object.keys(settings));
  const unknown = Object.keys(file).filter((k) => !known.has(k));
  if (unknown.length > 0) {
    throw new ConfigError(
      `config file ${filePath}: unknown setting(s) ${unknown.join(', ')} in ${sources.section}`,
    );
  }
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(settings)) {
    const fromFlag = flags[flagKey(s.flag)];
    const fromEnv = env[s.env];
    const [value, origin] =
      fromFlag !== undefined
        ? [fromFlag, `flag --${s.flag}`]
        : fromEnv !== undefined && fromEnv !== ''
          ? [fromEnv, `env ${s.env}`]
          : file[key] !== undefined
            ? [file[key], `file ${filePath}`]
            : [s.default, 'default'];
    if (value === undefined) continue;
    const result = s.schema.safeParse(value);
    if (!result.success) {
      const reason = result.error.issues.map((i) => i.message).join('; ');
      throw new ConfigError(
        `invalid configuration: ${sources.section}.${key} = ${JSON.stringify(value)} (from ${origin}): ${reason}`,
      );
    }
    out[key] = result.data;
  }
  return out as ConfigOf<S>;
}

function defaultText(s: Setting): string {
  if (s.defaultText) return s.defaultText;
  return s.default === undefined ? '—' : `\`${JSON.stringify(s.default)}\``;
}

/** Markdown table of the settings, for the README. */
export function settingsTable(settings: Settings): string {
  const rows = Object.entries(settings).map(
    ([key, s]) => `| \`--${s.flag}\` | \`${s.env}\` | \`${key}\` | ${defaultText(s)} | ${s.description} |`,
  );
  return [
    '| flag | env var | file key | default | meaning |',
    '| --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}
