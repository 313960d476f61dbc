import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { withSettingsTables } from '../../../scripts/settings-docs.ts';

describe('README settings tables', () => {
  it('match the settings definitions (run `npm run docs:settings` to update)', () => {
    const readme = readFileSync('README.md', 'utf8');
    expect(withSettingsTables(readme)).toBe(readme);
  });
});
