import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { agentSettings } from '../../../agent/settings.ts';
import { ConfigError, loadConfig, settingsTable } from '../../../common/config/settings.ts';

function file(text: string): string {
  const p = join(mkdtempSync(join(tmpdir(), 'vigil-cfg-')), 'vigil.yaml');
  writeFileSync(p, text);
  return p;
}

describe('configuration', () => {
  it('takes flag over env over file over default', () => {
    const cfg = file('agent:\n  windowSeconds: 30\n  aggregator: file:1\n  node: from-file\n');
    const c = loadConfig(agentSettings, {
      flags: { config: cfg, node: 'from-flag' },
      env: { VIGIL_AGGREGATOR: 'env:2', VIGIL_NODE_NAME: 'from-env' },
      section: 'agent',
    });
    expect(c.node).toBe('from-flag');
    expect(c.aggregator).toBe('env:2');
    expect(c.windowSeconds).toBe(30);
    expect(c.hostRoot).toBe('/');
  });

  it('parses sizes with Kubernetes suffixes', () => {
    const c = loadConfig(agentSettings, { env: { VIGIL_OUTBOX_MAX_BYTES: '256Mi' }, section: 'agent' });
    expect(c.outboxMaxBytes).toBe(256 * 1024 * 1024);
  });

  it('fails with the setting, the source and the value in the message', () => {
    expect(() =>
      loadConfig(agentSettings, { env: { VIGIL_WINDOW_SECONDS: '-3' }, section: 'agent' }),
    ).toThrow(/agent\.windowSeconds = "-3" \(from env VIGIL_WINDOW_SECONDS\)/);
    expect(() => loadConfig(agentSettings, { flags: { aggregator: 'no-port' }, section: 'agent' })).toThrow(
      /agent\.aggregator = "no-port" \(from flag --aggregator\): expected host:port/,
    );
  });

  it('rejects unknown keys in the file by name', () => {
    const cfg = file('agent:\n  windowSecs: 5\n');
    expect(() => loadConfig(agentSettings, { flags: { config: cfg }, section: 'agent' })).toThrow(
      ConfigError,
    );
    expect(() => loadConfig(agentSettings, { flags: { config: cfg }, section: 'agent' })).toThrow(
      /windowSecs/,
    );
  });

  it('documents every setting in one table', () => {
    const t = settingsTable(agentSettings);
    for (const s of Object.values(agentSettings)) expect(t).toContain(s.env);
  });
});
