// The values table of docs/deploy.md, generated from the `# -- ` comments of charts/vigil/values.yaml (the
// helm-docs convention), so the docs cannot drift from the chart: a test compares them.
// Regenerate the docs with: npx node test/integration/chart/values-table.ts --write
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isScalar, type Node, parseDocument, type YAMLMap } from 'yaml';

// `leaf`: not a non-empty map. `documented`: the key or one of its ancestors has a `# -- ` comment.
export type ValueDoc = {
  key: string;
  default: string;
  description: string;
  documented: boolean;
  leaf: boolean;
};

export const tableStart = '<!-- values-table:start (generated from charts/vigil/values.yaml) -->';
export const tableEnd = '<!-- values-table:end -->';

// Only the last `-- ` paragraph of a comment documents the key; earlier lines are section notes.
function description(comment: string | null | undefined): string | undefined {
  if (!comment) return undefined;
  const lines = comment.split('\n').map((line) => line.replace(/^ /, ''));
  const start = lines.findLastIndex((line) => line.startsWith('-- '));
  if (start < 0) return undefined;
  return lines.slice(start).join(' ').replace(/^-- /, '').replace(/\s+/g, ' ').trim();
}

function renderDefault(value: unknown): string {
  const json = JSON.stringify(value);
  return json === undefined ? 'null' : json;
}

// A map whose own keys carry docs gets no default cell: its keys have their own rows.
function childrenDocumented(map: YAMLMap): boolean {
  return map.items.some(
    (pair, index) =>
      description(
        (pair.key as Node | null)?.commentBefore ?? (index === 0 ? map.commentBefore : undefined),
      ) !== undefined,
  );
}

// Every key of values.yaml in file order.
export function valueDocs(valuesYaml: string): ValueDoc[] {
  const doc = parseDocument(valuesYaml);
  const out: ValueDoc[] = [];
  const walk = (
    map: YAMLMap,
    prefix: string,
    parentComment: string | null | undefined,
    inherited: boolean,
  ) => {
    map.items.forEach((pair, index) => {
      const name = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const key = prefix === '' ? name : `${prefix}.${name}`;
      // yaml attaches the comment above a nested map's first key to the map itself.
      const comment = (pair.key as Node | null)?.commentBefore ?? (index === 0 ? parentComment : undefined);
      const text = description(comment);
      const value = pair.value as Node | null;
      const hasDocumentedChildren = isMap(value) && childrenDocumented(value);
      out.push({
        key,
        default: hasDocumentedChildren
          ? ''
          : renderDefault((value as { toJSON?: () => unknown })?.toJSON?.() ?? null),
        description: text ?? '',
        documented: inherited || text !== undefined,
        leaf: !isMap(value) || value.items.length === 0,
      });
      if (isMap(value)) walk(value, key, value.commentBefore, inherited || text !== undefined);
    });
  };
  walk(doc.contents as YAMLMap, '', undefined, false);
  return out;
}

const cell = (text: string) => text.replace(/\|/g, '\\|');

export function valuesTable(valuesYaml: string): string {
  const rows = valueDocs(valuesYaml).filter((row) => row.description !== '');
  return [
    '| key | default | meaning |',
    '| --- | --- | --- |',
    ...rows.map(
      (row) =>
        `| \`${row.key}\` | ${row.default === '' ? '' : `\`${cell(row.default)}\``} | ${cell(row.description)} |`,
    ),
  ].join('\n');
}

// The cells of a markdown table, row by row, ignoring alignment padding and the separator row, so the
// comparison survives Biome's markdown formatter re-aligning the columns.
export function tableCells(table: string): string[][] {
  return table
    .split('\n')
    .filter((line) => line.trim().startsWith('|'))
    .map((line) =>
      line
        .trim()
        .replace(/^\|/, '')
        .replace(/(?<!\\)\|$/, '')
        .split(/(?<!\\)\|/)
        .map((c) => c.trim()),
    )
    .filter((cells) => !cells.every((c) => /^:?-+:?$/.test(c)));
}

export function tableIn(markdown: string): string {
  const start = markdown.indexOf(tableStart);
  const end = markdown.indexOf(tableEnd);
  if (start < 0 || end < start)
    throw new Error(`docs/deploy.md lacks the ${tableStart} … ${tableEnd} markers`);
  return markdown.slice(start + tableStart.length, end);
}

export function withTable(markdown: string, table: string): string {
  const start = markdown.indexOf(tableStart);
  const end = markdown.indexOf(tableEnd);
  if (start < 0 || end < start)
    throw new Error(`docs/deploy.md lacks the ${tableStart} … ${tableEnd} markers`);
  return `${markdown.slice(0, start + tableStart.length)}\n${table}\n${markdown.slice(end)}`;
}

if (import.meta.main && process.argv.includes('--write')) {
  const root = join(import.meta.dirname, '..', '..', '..');
  const docPath = join(root, 'docs', 'deploy.md');
  const table = valuesTable(readFileSync(join(root, 'charts', 'vigil', 'values.yaml'), 'utf8'));
  writeFileSync(docPath, withTable(readFileSync(docPath, 'utf8'), table));
  // Biome formats markdown too (it aligns table columns); leave the file as `biome check` wants it.
  spawnSync('npx', ['biome', 'format', '--write', docPath], { cwd: root, stdio: 'inherit' });
}
