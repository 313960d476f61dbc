// The rule condition language: a small, safe matcher tree (no eval, no code in rule files).
//
//   all: [node, ...]        every node matches          any: [node, ...]   at least one matches
//   not: node               negation                    macro: name        a named, reusable node
//   field: path + exactly one operator:
//     equals: v | in: [v, ...] | startswith: s|[s] | endswith: s|[s] | contains: s|[s] | regex: re
//     exists: true|false | gt|gte|lt|lte: number        (optional `nocase: true` for string operators)
//
// Lists: in any operator array, an item `$name` splices the named list (`in: [$allowed_users, bob]`), and
// `in: $name` uses the list as is. A path that reaches several values (arrays) matches when any value does.

import { type FieldPath, parseFieldPath, resolveField } from './field-path.ts';

export type Scalar = string | number | boolean;
export type Predicate = (event: unknown) => boolean;

export const OPERATORS = [
  'equals',
  'in',
  'startswith',
  'endswith',
  'contains',
  'regex',
  'exists',
  'gt',
  'gte',
  'lt',
  'lte',
] as const;
type Operator = (typeof OPERATORS)[number];

export interface ConditionContext {
  lists: ReadonlyMap<string, readonly Scalar[]>;
  /** Raw macro nodes by name; compiled on first use with cycle detection. */
  macros: ReadonlyMap<string, unknown>;
}

export class ConditionError extends Error {
  override readonly name = 'ConditionError';
  readonly at: string;
  constructor(at: string, message: string) {
    super(`${at}: ${message}`);
    this.at = at;
  }
}

const MAX_DEPTH = 64;
/** Values are attacker-influenced (user names, URIs): a regex only sees their first 8 KiB, bounding its cost. */
const MAX_REGEX_INPUT = 8192;

/** Compiles a condition node to a predicate, or throws ConditionError naming the place in the tree. */
export function compileCondition(node: unknown, ctx: ConditionContext, at = 'condition'): Predicate {
  return new Compiler(ctx).compile(node, at, 0);
}

class Compiler {
  readonly #ctx: ConditionContext;
  readonly #macroCache = new Map<string, Predicate>();
  readonly #macroStack: string[] = [];

  constructor(ctx: ConditionContext) {
    this.#ctx = ctx;
  }

  compile(node: unknown, at: string, depth: number): Predicate {
    if (depth > MAX_DEPTH) throw new ConditionError(at, `nested deeper than ${MAX_DEPTH}`);
    if (node === null || typeof node !== 'object' || Array.isArray(node)) {
      throw new ConditionError(at, 'expected an object with all/any/not/macro/field');
    }
    const obj = node as Record<string, unknown>;
    const keys = Object.keys(obj);
    if ('all' in obj || 'any' in obj) {
      const key = 'all' in obj ? 'all' : 'any';
      if (keys.length !== 1)
        throw new ConditionError(at, `'${key}' must be the only key, found ${keys.join(', ')}`);
      const items = obj[key];
      if (!Array.isArray(items) || items.length === 0) {
        throw new ConditionError(`${at}.${key}`, 'expected a non-empty list');
      }
      const parts = items.map((item, i) => this.compile(item, `${at}.${key}[${i}]`, depth + 1));
      return key === 'all' ? (e) => parts.every((p) => p(e)) : (e) => parts.some((p) => p(e));
    }
    if ('not' in obj) {
      if (keys.length !== 1)
        throw new ConditionError(at, `'not' must be the only key, found ${keys.join(', ')}`);
      const inner = this.compile(obj['not'], `${at}.not`, depth + 1);
      return (e) => !inner(e);
    }
    if ('macro' in obj) {
      if (keys.length !== 1) throw new ConditionError(at, `'macro' must be the only key`);
      return this.#macro(obj['macro'], `${at}.macro`, depth);
    }
    if ('field' in obj) return this.#test(obj, at);
    throw new ConditionError(
      at,
      `unknown node with keys [${keys.join(', ')}] (expected all/any/not/macro/field)`,
    );
  }

  #macro(name: unknown, at: string, depth: number): Predicate {
    if (typeof name !== 'string') throw new ConditionError(at, 'macro name must be a string');
    const cached = this.#macroCache.get(name);
    if (cached) return cached;
    if (!this.#ctx.macros.has(name)) throw new ConditionError(at, `unknown macro '${name}'`);
    if (this.#macroStack.includes(name)) {
      throw new ConditionError(at, `macro cycle ${[...this.#macroStack, name].join(' -> ')}`);
    }
    this.#macroStack.push(name);
    try {
      const compiled = this.compile(this.#ctx.macros.get(name), `macro ${name}`, depth + 1);
      this.#macroCache.set(name, compiled);
      return compiled;
    } finally {
      this.#macroStack.pop();
    }
  }

  #test(obj: Record<string, unknown>, at: string): Predicate {
    const fieldText = obj['field'];
    if (typeof fieldText !== 'string') throw new ConditionError(`${at}.field`, 'must be a string path');
    let path: FieldPath;
    try {
      path = parseFieldPath(fieldText);
    } catch (err) {
      throw new ConditionError(`${at}.field`, (err as Error).message);
    }
    const ops = Object.keys(obj).filter((k) => k !== 'field' && k !== 'nocase');
    const unknown = ops.filter((k) => !(OPERATORS as readonly string[]).includes(k));
    if (unknown.length > 0) {
      throw new ConditionError(
        at,
        `unknown operator '${unknown[0]}' (expected one of ${OPERATORS.join(', ')})`,
      );
    }
    if (ops.length !== 1) {
      throw new ConditionError(at, `field test needs exactly one operator, found ${ops.length}`);
    }
    const op = ops[0] as Operator;
    const nocase = obj['nocase'] === true;
    if (obj['nocase'] !== undefined && typeof obj['nocase'] !== 'boolean') {
      throw new ConditionError(`${at}.nocase`, 'must be true or false');
    }
    const raw = obj[op];
    const opAt = `${at}.${op}`;
    switch (op) {
      case 'exists': {
        if (typeof raw !== 'boolean') throw new ConditionError(opAt, 'must be true or false');
        return (e) => resolveField(e, path).length > 0 === raw;
      }
      case 'gt':
      case 'gte':
      case 'lt':
      case 'lte': {
        if (typeof raw !== 'number') throw new ConditionError(opAt, 'must be a number');
        const cmp = numberComparator(op, raw);
        return (e) => resolveField(e, path).some((v) => typeof v === 'number' && cmp(v));
      }
      case 'regex': {
        if (typeof raw !== 'string') throw new ConditionError(opAt, 'must be a string');
        let re: RegExp;
        try {
          re = new RegExp(raw, nocase ? 'i' : '');
        } catch (err) {
          throw new ConditionError(opAt, `bad regular expression: ${(err as Error).message}`);
        }
        return (e) =>
          resolveField(e, path).some((v) => isScalar(v) && re.test(String(v).slice(0, MAX_REGEX_INPUT)));
      }
      case 'equals': {
        if (!isScalar(raw)) throw new ConditionError(opAt, 'must be a string, number or boolean');
        const want = norm(raw, nocase);
        return (e) => resolveField(e, path).some((v) => isScalar(v) && norm(v, nocase) === want);
      }
      case 'in': {
        const set = new Set(this.#scalars(raw, opAt).map((v) => norm(v, nocase)));
        return (e) => resolveField(e, path).some((v) => isScalar(v) && set.has(norm(v, nocase)));
      }
      case 'startswith':
      case 'endswith':
      case 'contains': {
        const needles = this.#scalars(raw, opAt).map((v) => norm(v, nocase));
        const test =
          op === 'startswith'
            ? (s: string, n: string) => s.startsWith(n)
            : op === 'endswith'
              ? (s: string, n: string) => s.endsWith(n)
              : (s: string, n: string) => s.includes(n);
        return (e) =>
          resolveField(e, path).some((v) => {
            const s = isScalar(v) ? norm(v, nocase) : norm(JSON.stringify(v), nocase);
            return needles.some((n) => test(s, n));
          });
      }
    }
  }

  /** Expands an operator argument to scalars, splicing `$list` references. */
  #scalars(raw: unknown, at: string): Scalar[] {
    if (typeof raw === 'string' && raw.startsWith('$')) return [...this.#list(raw.slice(1), at)];
    const items = Array.isArray(raw) ? raw : [raw];
    const out: Scalar[] = [];
    for (const [i, item] of items.entries()) {
      if (typeof item === 'string' && item.startsWith('$'))
        out.push(...this.#list(item.slice(1), `${at}[${i}]`));
      else if (isScalar(item)) out.push(item);
      else throw new ConditionError(`${at}[${i}]`, 'must be a string, number or boolean');
    }
    return out;
  }

  #list(name: string, at: string): readonly Scalar[] {
    const list = this.#ctx.lists.get(name);
    if (!list) throw new ConditionError(at, `unknown list '$${name}'`);
    return list;
  }
}

function isScalar(v: unknown): v is Scalar {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

/** Values compare as text so `responseStatus.code` 200 equals '200' and startswith '2' works, as in Falco. */
function norm(v: Scalar, nocase: boolean): string {
  const s = String(v);
  return nocase ? s.toLowerCase() : s;
}

function numberComparator(op: 'gt' | 'gte' | 'lt' | 'lte', bound: number): (v: number) => boolean {
  switch (op) {
    case 'gt':
      return (v) => v > bound;
    case 'gte':
      return (v) => v >= bound;
    case 'lt':
      return (v) => v < bound;
    case 'lte':
      return (v) => v <= bound;
  }
}
