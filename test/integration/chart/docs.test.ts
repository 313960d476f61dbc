import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from './helm.ts';
import { tableCells, tableIn, valueDocs, valuesTable } from './values-table.ts';

const valuesYaml = readFileSync(join(repoRoot, 'charts', 'vigil', 'values.yaml'), 'utf8');

describe('values documentation', () => {
  it('documents every value with a `# -- ` comment on the key or on its parent', () => {
    const undocumented = valueDocs(valuesYaml)
      .filter((doc) => doc.leaf && !doc.documented)
      .map((doc) => doc.key);
    expect(undocumented).toEqual([]);
  });

  it('finds a key that lacks its comment', () => {
    const docs = valueDocs('# -- documented\na: 1\nb:\n  c: 2\n');
    expect(docs.filter((doc) => doc.leaf && !doc.documented).map((doc) => doc.key)).toEqual(['b.c']);
  });

  it('keeps the values table in docs/deploy.md identical to the one values.yaml generates', () => {
    const markdown = readFileSync(join(repoRoot, 'docs', 'deploy.md'), 'utf8');
    expect(tableCells(tableIn(markdown))).toEqual(tableCells(valuesTable(valuesYaml)));
  });

  it('reads the same cells from an aligned table and a compact one', () => {
    const compact = '| a | b |\n| --- | --- |\n| `x\\|y` | 1 |';
    const aligned = '| a      | b   |\n| ------ | --- |\n| `x\\|y` | 1   |';
    expect(tableCells(aligned)).toEqual(tableCells(compact));
    expect(tableCells(compact)).toEqual([
      ['a', 'b'],
      ['`x\\|y`', '1'],
    ]);
  });
});
