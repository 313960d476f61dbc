// Hot reload of rule files: watches the rule files and directories, re-validates on change and hands the
// new RuleSet to `onChange`. A rule that no longer validates (or a file that no longer parses, e.g. half
// saved by an editor) keeps its previous good version, so a typo never silently switches detection off;
// the errors are still reported with file, rule id and reason.

import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { listRuleFiles, loadRuleSet } from './rule-loader.ts';
import type { CompiledRule, RuleSet } from './rule-types.ts';

export interface RuleWatcher {
  current(): RuleSet;
  /** Re-reads now (also what a file change triggers). */
  reload(): RuleSet;
  close(): void;
}

export interface WatchRulesOptions {
  /** Coalesces the burst of events one save produces. Default 100 ms. */
  debounceMs?: number;
  onError?: (error: Error) => void;
}

/** Keeps the previous version of rules that failed to load this time (by rule id or whole file). */
export function mergeWithPrevious(next: RuleSet, previous: RuleSet | undefined): RuleSet {
  if (!previous || next.errors.length === 0) return next;
  const brokenFiles = new Set(next.errors.filter((e) => e.ruleId === undefined).map((e) => resolve(e.file)));
  const brokenIds = new Set(next.errors.filter((e) => e.ruleId !== undefined).map((e) => e.ruleId));
  const have = new Set(next.rules.map((r) => r.id));
  const kept: CompiledRule[] = previous.rules.filter(
    (r) => !have.has(r.id) && (brokenIds.has(r.id) || brokenFiles.has(resolve(r.file))),
  );
  return { rules: [...next.rules, ...kept], errors: next.errors, files: next.files };
}

export function watchRules(
  paths: readonly string[],
  onChange: (ruleSet: RuleSet) => void,
  options: WatchRulesOptions = {},
): RuleWatcher {
  let current = loadRuleSet(paths);
  let timer: NodeJS.Timeout | undefined;
  const watchers: FSWatcher[] = [];

  const reload = (): RuleSet => {
    current = mergeWithPrevious(loadRuleSet(paths), current);
    onChange(current);
    return current;
  };

  // Watch directories (of files too): editors replace files by rename, which a file watch would lose.
  const dirs = new Map<string, Set<string> | 'all'>();
  for (const p of paths) {
    const { files } = listRuleFiles([p]);
    const isDir = files.length !== 1 || resolve(files[0]!) !== resolve(p);
    if (isDir) dirs.set(resolve(p), 'all');
    else {
      const dir = dirname(resolve(p));
      const entry = dirs.get(dir);
      if (entry !== 'all') dirs.set(dir, new Set([...(entry ?? []), basename(p)]));
    }
  }
  for (const [dir, names] of dirs) {
    try {
      const w = watch(dir, (_event, filename) => {
        const name = filename?.toString();
        if (name && names !== 'all' && !names.has(name)) return;
        if (name && names === 'all' && !/\.ya?ml$/.test(name)) return;
        clearTimeout(timer);
        timer = setTimeout(() => {
          try {
            reload();
          } catch (err) {
            options.onError?.(err as Error);
          }
        }, options.debounceMs ?? 100);
      });
      w.on('error', (err) => options.onError?.(err));
      watchers.push(w);
    } catch (err) {
      options.onError?.(err as Error);
    }
  }
  return {
    current: () => current,
    reload,
    close() {
      clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
