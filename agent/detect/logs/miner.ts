// Online Drain-style template miner (He et al., ICWS 2017), our own implementation with general improvements.
// A line is masked and tokenised (masking.ts), routed down a fixed-depth tree by its token count and leading
// tokens, and matched against the templates in that leaf by positional similarity; a match generalises the
// template (differing positions become `<*>`), otherwise a new template is created. Ids are a per-miner
// sequence, so they are deterministic and survive snapshot()/restore().
//
// Beyond Drain (see docs/log-mining.md for why each is general):
// - richer masking, and a run of wildcards counts as one variable (variable-length lists);
// - SCREAMING_CASE words (enum constants: states, event types) never generalise to `<*>`;
// - a template that has held `stableAfter` lines unchanged accepts no more differing lines: a differing line
//   starts a sibling template instead of blurring an established one;
// - siblings that differ in one position only are merged once that position has shown `siblingVariety`
//   distinct words: a small set of words is a set of constants, many words are a variable. Within a leaf for
//   any position; across leaves for the routing positions (a variable word among the leading tokens), then
//   only when the variants share at least 3 other constant tokens.
import { flattenJsonLine } from './json-line.ts';
import { detach, maskLine, maskRange, WILDCARD } from './masking.ts';

export interface MinerOptions {
  /** Minimum share of a template's tokens a line must match to join it (0..1]. */
  similarity?: number;
  /** Leading tokens used to route a line in the tree. */
  prefixTokens?: number;
  /** Children per tree node before further distinct tokens share the `<*>` child. */
  maxChildren?: number;
  /** Templates per miner; when full, lines that match nothing count towards the overflow template. */
  maxTemplates?: number;
  /** Templates per tree leaf (bounds the scan per line); a full leaf sends unmatched lines to overflow. */
  maxLeafTemplates?: number;
  /** Lines after which a template no longer generalises; differing lines start a sibling. */
  stableAfter?: number;
  /** Distinct words in one position that turn sibling templates into one template with `<*>` there. */
  siblingVariety?: number;
}

export type ResolvedMinerOptions = Required<MinerOptions>;

/** The one configuration every source uses (no per-source tuning). */
export const DEFAULT_MINER_OPTIONS: Readonly<ResolvedMinerOptions> = Object.freeze({
  similarity: 0.5,
  prefixTokens: 2,
  maxChildren: 100,
  maxTemplates: 5000,
  maxLeafTemplates: 512,
  stableAfter: 5,
  siblingVariety: 5,
});

export const OVERFLOW_TEMPLATE_ID = 'overflow';
export const OVERFLOW_TEMPLATE = '<overflow>';

/** Distinct words remembered per generalised position (for sibling merging). */
const VALUES_CAP = 16;

export interface AddResult {
  /** Id of the template the line belongs to now (stable; merges map old ids to the surviving one). */
  templateId: string;
  /** Template text now; it may still generalise later. */
  template: string;
  /** Whether this line created the template. */
  isNew: boolean;
}

export interface TemplateInfo {
  id: string;
  template: string;
  count: number;
}

export interface SnapshotTemplate {
  id: string;
  template: string;
  count: number;
  /** Tree routes the template is registered under (so restored templates sit where new lines look). */
  routes: string[][];
  /** Distinct words seen per generalised position, `[position, words]`. */
  values?: Array<[number, string[]]>;
}

/** Plain JSON-able miner state; `TemplateMiner.restore(snapshot)` continues exactly where it stopped. */
export interface MinerSnapshot {
  version: 1;
  options: ResolvedMinerOptions;
  nextSeq: number;
  lines: number;
  overflow: number;
  merges: number;
  templates: SnapshotTemplate[];
  /** Merged template id → id it was merged into. */
  aliases: Array<[string, string]>;
}

export interface MinerStats {
  lines: number;
  templates: number;
  overflow: number;
  merges: number;
}

interface Cluster {
  id: string;
  seq: number;
  tokens: string[];
  /** Whether each token is a SCREAMING_CASE constant; kept in step with `tokens`. */
  enumLike: boolean[];
  wildcards: number;
  count: number;
  /** Routes and leaves this template is registered in (more than one after a merge across leaves). */
  routes: string[][];
  leaves: TreeNode[];
  text: string | undefined;
  values: Map<number, Set<string>> | undefined;
}

interface TreeNode {
  children: Map<string, TreeNode> | undefined;
  clusters: Cluster[] | undefined;
}

function validateOptions(opts: MinerOptions | undefined): ResolvedMinerOptions {
  const o: ResolvedMinerOptions = { ...DEFAULT_MINER_OPTIONS };
  for (const [k, v] of Object.entries(opts ?? {})) {
    if (v !== undefined && k in o) (o as unknown as Record<string, number>)[k] = v as number;
  }
  if (!(o.similarity > 0 && o.similarity <= 1)) throw new RangeError('options.similarity must be in (0, 1]');
  const ints: Array<[keyof ResolvedMinerOptions, number]> = [
    ['prefixTokens', 0],
    ['maxChildren', 1],
    ['maxTemplates', 1],
    ['maxLeafTemplates', 1],
    ['stableAfter', 1],
    ['siblingVariety', 2],
  ];
  for (const [key, min] of ints) {
    if (!Number.isInteger(o[key]) || o[key] < min) {
      throw new RangeError(`options.${key} must be an integer >= ${min}`);
    }
  }
  return o;
}

export class TemplateMiner {
  readonly options: ResolvedMinerOptions;
  private readonly root = new Map<number, TreeNode>();
  private readonly byId = new Map<string, Cluster>();
  private readonly aliases = new Map<string, string>();
  /** Live templates by token count, for merges across tree leaves. */
  private readonly byLength = new Map<number, Set<Cluster>>();
  private nextSeq = 1;
  private structural = 0;
  private lineCount = 0;
  private overflowCount = 0;
  private mergeCount = 0;
  private readonly tokens: string[] = [];
  private readonly route: string[] = [];
  private valuesGrew = false;
  private last: Cluster | undefined;

  constructor(opts?: MinerOptions) {
    this.options = validateOptions(opts);
  }

  /** Mines one line: returns the template it belongs to now. */
  add(line: string): AddResult {
    return this.addRange(line, 0, line.length);
  }

  /**
   * Mines the line `text[from, to)` of a larger text (a batch of lines separated by LF) without cutting it out:
   * the same as `add(text.slice(from, to))`.
   */
  addRange(text: string, from: number, to: number): AddResult {
    this.lineCount++;
    const tokens =
      text.charCodeAt(from) === 123 // '{': maybe a JSON line
        ? maskLine(flattenJsonLine(text.slice(from, to)), this.tokens)
        : maskRange(text, from, to, this.tokens);
    const full = this.byId.size >= this.options.maxTemplates;
    const leaf = this.leafFor(tokens, !full);
    const best = leaf ? this.bestMatch(leaf, tokens) : undefined;
    if (leaf && best) {
      best.count++;
      let result = best;
      if (this.generalise(best, tokens, best.count > this.options.stableAfter)) {
        result = this.mergeDuplicate(leaf, best);
        result = this.mergeSiblings(leaf, result);
      } else if (this.valuesGrew) {
        result = this.mergeSiblings(leaf, best);
      }
      this.last = result;
      return { templateId: result.id, template: this.textOf(result), isNew: false };
    }
    if (!leaf || full || (leaf.clusters?.length ?? 0) >= this.options.maxLeafTemplates) {
      this.overflowCount++;
      this.last = undefined;
      return { templateId: OVERFLOW_TEMPLATE_ID, template: OVERFLOW_TEMPLATE, isNew: false };
    }
    const cluster = this.create(tokens.map(detach), 1, undefined);
    this.register(cluster, leaf, this.route.map(detach));
    let merged = this.mergeSiblings(leaf, cluster);
    if (merged === cluster) merged = this.mergeAcrossLeaves(cluster);
    this.last = merged;
    return { templateId: merged.id, template: this.textOf(merged), isNew: merged === cluster };
  }

  /** The masked tokens of the line mined last (overwritten by the next line: read, do not keep). */
  get lastLineTokens(): readonly string[] {
    return this.tokens;
  }

  /** The tokens of the template the line mined last went to (`undefined` for overflow; read, do not keep). */
  get lastTemplateTokens(): readonly string[] | undefined {
    return this.last?.tokens;
  }

  /** The live id a (possibly merged) template id now maps to. */
  resolve(id: string): string {
    let cur = id;
    for (let next = this.aliases.get(cur); next !== undefined; next = this.aliases.get(cur)) cur = next;
    return cur;
  }

  /** Current text of a template id (following merges); `undefined` for an unknown id. */
  templateOf(id: string): string | undefined {
    if (id === OVERFLOW_TEMPLATE_ID) return OVERFLOW_TEMPLATE;
    const c = this.byId.get(this.resolve(id));
    return c ? this.textOf(c) : undefined;
  }

  /** Live templates in creation order. */
  templates(): TemplateInfo[] {
    const out: TemplateInfo[] = [];
    for (const c of this.byId.values()) out.push({ id: c.id, template: this.textOf(c), count: c.count });
    return out;
  }

  /**
   * Grows whenever a template is created, generalised or merged (not on counts alone): a caller that persists
   * snapshots can skip streams whose value did not move since the last one. Counts and remembered words then
   * lag in the stored snapshot, which after a restore only delays `stableAfter` and sibling merges a little.
   */
  get changes(): number {
    return this.structural;
  }

  stats(): MinerStats {
    return {
      lines: this.lineCount,
      templates: this.byId.size,
      overflow: this.overflowCount,
      merges: this.mergeCount,
    };
  }

  snapshot(): MinerSnapshot {
    const templates: SnapshotTemplate[] = [];
    for (const c of this.byId.values()) {
      const t: SnapshotTemplate = {
        id: c.id,
        template: this.textOf(c),
        count: c.count,
        routes: c.routes.map((r) => [...r]),
      };
      if (c.values) t.values = [...c.values].map(([pos, set]) => [pos, [...set]]);
      templates.push(t);
    }
    return {
      version: 1,
      options: { ...this.options },
      nextSeq: this.nextSeq,
      lines: this.lineCount,
      overflow: this.overflowCount,
      merges: this.mergeCount,
      templates,
      aliases: [...this.aliases],
    };
  }

  static restore(snapshot: MinerSnapshot): TemplateMiner {
    if (snapshot.version !== 1)
      throw new Error(`unsupported miner snapshot version ${String(snapshot.version)}`);
    const miner = new TemplateMiner(snapshot.options);
    miner.nextSeq = snapshot.nextSeq;
    miner.lineCount = snapshot.lines;
    miner.overflowCount = snapshot.overflow;
    miner.mergeCount = snapshot.merges;
    for (const t of snapshot.templates) {
      // Template text is the miner's own tokens joined by one space, so splitting restores them exactly.
      const tokens = t.template === '' ? [] : t.template.split(' ');
      const cluster = miner.create(tokens, t.count, t.id);
      if (t.values) cluster.values = new Map(t.values.map(([pos, words]) => [pos, new Set(words)]));
      // Early snapshots had a single `route`; a template without any route is re-routed by its text.
      const legacy = (t as { route?: string[] }).route;
      const routes = t.routes ?? (legacy ? [legacy] : [miner.routeOf(tokens)]);
      for (const route of routes) miner.register(cluster, miner.nodeAt(tokens.length, route), [...route]);
    }
    for (const [from, to] of snapshot.aliases) miner.aliases.set(from, to);
    return miner;
  }

  private routeOf(tokens: readonly string[]): string[] {
    this.leafFor(tokens, true);
    return this.route.slice();
  }

  private create(tokens: string[], count: number, id: string | undefined): Cluster {
    const seq = id === undefined ? this.nextSeq++ : seqOf(id);
    const cluster: Cluster = {
      id: id ?? `t${seq}`,
      seq,
      tokens,
      enumLike: tokens.map(isEnumLike),
      wildcards: 0,
      count,
      routes: [],
      leaves: [],
      text: undefined,
      values: undefined,
    };
    for (const t of tokens) if (t === WILDCARD) cluster.wildcards++;
    this.byId.set(cluster.id, cluster);
    this.structural++;
    let same = this.byLength.get(tokens.length);
    if (!same) {
      same = new Set();
      this.byLength.set(tokens.length, same);
    }
    same.add(cluster);
    return cluster;
  }

  private register(c: Cluster, leaf: TreeNode, route: string[]): void {
    if (leaf.clusters?.includes(c)) return;
    if (leaf.clusters) leaf.clusters.push(c);
    else leaf.clusters = [c];
    c.leaves.push(leaf);
    c.routes.push(route);
  }

  private textOf(c: Cluster): string {
    c.text ??= c.tokens.join(' ');
    return c.text;
  }

  // Routes by token count, then by up to `prefixTokens` leading tokens; tokens holding a variable take the
  // `<*>` child, and so does any new token once a node is full, which bounds the tree. The keys taken are
  // left in `this.route` (when a leaf is returned). Without `create`, only existing nodes are followed (a full miner grows no tree).
  private leafFor(tokens: readonly string[], create: boolean): TreeNode | undefined {
    const route = this.route;
    let node: TreeNode | undefined = this.root.get(tokens.length);
    if (!node) {
      if (!create) return undefined;
      node = { children: undefined, clusters: undefined };
      this.root.set(tokens.length, node);
    }
    const depth = Math.min(this.options.prefixTokens, tokens.length);
    for (let d = 0; d < depth; d++) {
      const token = tokens[d]!;
      let key = token.includes(WILDCARD) ? WILDCARD : token;
      let child: TreeNode | undefined = node.children?.get(key);
      if (!child && key !== WILDCARD && (node.children?.size ?? 0) >= this.options.maxChildren) {
        key = WILDCARD;
        child = node.children?.get(key);
      }
      if (!child) {
        if (!create) return undefined;
        child = { children: undefined, clusters: undefined };
        if (!node.children) node.children = new Map();
        node.children.set(detach(key), child);
      }
      route[d] = key;
      node = child;
    }
    // Cut to length only when it differs: emptying the array every line would free its storage every line.
    if (route.length !== depth) route.length = depth;
    return node;
  }

  /** The node at an explicit route, created as needed (restore ignores the children cap: routes were valid). */
  private nodeAt(length: number, route: readonly string[]): TreeNode {
    let node: TreeNode | undefined = this.root.get(length);
    if (!node) {
      node = { children: undefined, clusters: undefined };
      this.root.set(length, node);
    }
    for (const key of route) {
      let child: TreeNode | undefined = node.children?.get(key);
      if (!child) {
        child = { children: undefined, clusters: undefined };
        if (!node.children) node.children = new Map();
        node.children.set(key, child);
      }
      node = child;
    }
    return node;
  }

  private bestMatch(leaf: TreeNode, tokens: readonly string[]): Cluster | undefined {
    const clusters = leaf.clusters;
    if (!clusters) return undefined;
    let best: Cluster | undefined;
    let bestSim = -1;
    let bestWild = -1;
    const stableAfter = this.options.stableAfter;
    const n = tokens.length;
    // Differences a line may have and still reach the threshold: stop comparing a template beyond that.
    const allowed = n - Math.ceil(this.options.similarity * n - 1e-9);
    for (let k = 0; k < clusters.length; k++) {
      const c = clusters[k]!;
      const t = c.tokens;
      let same = 0;
      let diff = 0;
      let rejected = false;
      for (let i = 0; i < n; i++) {
        const tt = t[i]!;
        if (tt === WILDCARD || tt === tokens[i]) same++;
        else if (c.enumLike[i] || c.count >= stableAfter || ++diff > allowed) {
          rejected = true;
          break;
        }
      }
      if (rejected) continue;
      const sim = n === 0 ? 1 : same / n;
      if (sim > bestSim || (sim === bestSim && c.wildcards > bestWild)) {
        best = c;
        bestSim = sim;
        bestWild = c.wildcards;
      }
    }
    return best && bestSim >= this.options.similarity ? best : undefined;
  }

  /**
   * Turns positions where the line differs into wildcards. Returns whether the template changed. `stable`: the
   * template had `stableAfter` lines when the line matched, so `bestMatch` let it in only with every constant
   * position equal; then only the words remembered at its variable positions can grow.
   */
  private generalise(c: Cluster, tokens: readonly string[], stable: boolean): boolean {
    this.valuesGrew = false;
    if (stable) {
      if (c.values === undefined) return false;
      for (const [i, set] of c.values) {
        if (set.size >= VALUES_CAP || c.tokens[i] !== WILDCARD) continue;
        const token = tokens[i]!;
        if (!set.has(token)) {
          set.add(detach(token));
          this.valuesGrew = true;
        }
      }
      return false;
    }
    let changed = false;
    const t = c.tokens;
    for (let i = 0; i < t.length; i++) {
      const tt = t[i]!;
      const token = tokens[i]!;
      if (tt !== WILDCARD) {
        if (tt === token) continue;
        t[i] = WILDCARD;
        c.wildcards++;
        changed = true;
        if (!c.values) c.values = new Map();
        c.values.set(i, new Set([tt]));
      }
      const set = c.values?.get(i);
      if (set && set.size < VALUES_CAP && !set.has(token)) {
        set.add(detach(token));
        this.valuesGrew = true;
      }
    }
    if (changed) {
      c.text = undefined;
      this.structural++;
    }
    return changed;
  }

  // Folds `drop` into `keep` (the older): counts add up and the dropped id becomes an alias.
  private fold(keep: Cluster, drop: Cluster): void {
    keep.count += drop.count;
    this.aliases.set(drop.id, keep.id);
    // Bounded: the oldest aliases go first (ids that old are long gone from every window).
    if (this.aliases.size > 4 * this.options.maxTemplates) {
      const oldest = this.aliases.keys().next().value;
      if (oldest !== undefined) this.aliases.delete(oldest);
    }
    this.byId.delete(drop.id);
    this.byLength.get(drop.tokens.length)?.delete(drop);
    // The surviving template takes over every leaf the dropped one was reachable from.
    for (let i = 0; i < drop.leaves.length; i++) {
      const leaf = drop.leaves[i]!;
      const clusters = leaf.clusters!;
      clusters.splice(clusters.indexOf(drop), 1);
      this.register(keep, leaf, drop.routes[i]!);
    }
    this.mergeCount++;
    this.structural++;
  }

  // A template that generalised can become identical to a sibling: fold the younger into the older.
  private mergeDuplicate(leaf: TreeNode, changed: Cluster): Cluster {
    const text = this.textOf(changed);
    for (const other of leaf.clusters!) {
      if (other === changed || this.textOf(other) !== text) continue;
      const [keep, drop] = other.seq < changed.seq ? [other, changed] : [changed, other];
      this.fold(keep, drop);
      return keep;
    }
    return changed;
  }

  // Siblings that agree everywhere but in one position, with at least `siblingVariety` distinct words there,
  // are one template whose position is a variable: fold them into the oldest.
  private mergeSiblings(leaf: TreeNode, x: Cluster): Cluster {
    const clusters = leaf.clusters!;
    if (clusters.length < 2) return x;
    return this.mergeVariants(clusters, x, x.tokens.length);
  }

  // The same rule across leaves, for the routing positions only: a variable word among the leading tokens
  // sends its lines to different leaves (`user alice logged in`, `user bob logged in`), where they would stay
  // apart forever. Merged, the template is registered in every leaf its variants came from.
  private mergeAcrossLeaves(x: Cluster): Cluster {
    const same = this.byLength.get(x.tokens.length);
    if (!same || same.size < 2) return x;
    return this.mergeVariants(same, x, Math.min(this.options.prefixTokens, x.tokens.length), 3);
  }

  // `minConstants`: constant tokens the variants must share besides position p (a template of one word and a
  // variable, `Launching <*>`, says nothing about its first word being a variable).
  private mergeVariants(
    candidates: Iterable<Cluster>,
    x: Cluster,
    positions: number,
    minConstants = 0,
  ): Cluster {
    const n = x.tokens.length;
    for (let p = 0; p < positions; p++) {
      if (minConstants > 0) {
        let constants = 0;
        for (let i = 0; i < n; i++) if (i !== p && x.tokens[i] !== WILDCARD) constants++;
        if (constants < minConstants) continue;
      }
      const group: Cluster[] = [];
      for (const y of candidates) {
        if (y.tokens.length === n && equalExcept(y.tokens, x.tokens, p)) group.push(y);
      }
      if (group.length < 2) continue;
      const distinct = new Set<string>();
      let enumLike = false;
      for (const y of group) {
        const tok = y.tokens[p]!;
        if (tok !== WILDCARD) distinct.add(tok);
        else for (const v of y.values?.get(p) ?? []) distinct.add(v);
        if (y.enumLike[p]) enumLike = true;
      }
      // Enum constants stay apart however many there are (as in matching).
      if (enumLike || distinct.size < this.options.siblingVariety) continue;
      group.sort((a, b) => a.seq - b.seq);
      const keep = group[0]!;
      if (keep.tokens[p] !== WILDCARD) {
        keep.tokens[p] = WILDCARD;
        keep.enumLike[p] = false;
        keep.wildcards++;
        keep.text = undefined;
      }
      if (!keep.values) keep.values = new Map();
      keep.values.set(p, new Set([...distinct].slice(0, VALUES_CAP)));
      for (const drop of group.slice(1)) this.fold(keep, drop);
      return keep;
    }
    return x;
  }
}

function equalExcept(a: readonly string[], b: readonly string[], skip: number): boolean {
  for (let i = 0; i < a.length; i++) if (i !== skip && a[i] !== b[i]) return false;
  return true;
}

function seqOf(id: string): number {
  const n = Number(id.slice(1));
  if (!Number.isInteger(n) || n < 1) throw new Error(`invalid template id ${id}`);
  return n;
}

/** SCREAMING_CASE words (states, event types, levels) name constants in program code, not free variables. */
export function isEnumLike(token: string): boolean {
  let letters = 0;
  const last = token.length - 1;
  for (let i = 0; i <= last; i++) {
    const c = token.charCodeAt(i);
    if (c >= 65 && c <= 90) letters++;
    else if (c >= 97 && c <= 122) return false;
    else if (c !== 95 && !(i === last && (c === 44 || c === 46 || c === 58 || c === 59))) return false;
  }
  return letters >= 2;
}
