// Rewrites the settings tables in README.md from the settings definitions (`npm run docs:settings`).
// A test fails when README.md and the definitions disagree.
import { readFileSync, writeFileSync } from 'node:fs';
import { agentSettings } from '../agent/settings.ts';
import { aggregatorSettings } from '../aggregator/settings.ts';
import { type Settings, settingsTable } from '../common/config/settings.ts';

export const SETTINGS_SECTIONS: Record<string, Settings> = {
  agent: agentSettings,
  aggregator: aggregatorSettings,
};

export function withSettingsTables(readme: string): string {
  let out = readme;
  for (const [name, settings] of Object.entries(SETTINGS_SECTIONS)) {
    const start = `<!-- settings:${name} -->`;
    const end = `<!-- /settings:${name} -->`;
    const re = new RegExp(`${start}[\\s\\S]*?${end}`);
    if (!re.test(out)) throw new Error(`README.md has no ${start} … ${end} block`);
    out = out.replace(re, `${start}\n${settingsTable(settings)}\n${end}`);
  }
  return out;
}

if (import.meta.main) {
  writeFileSync('README.md', withSettingsTables(readFileSync('README.md', 'utf8')));
}
