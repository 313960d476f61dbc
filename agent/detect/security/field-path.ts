// Field paths used by rule conditions: `objectRef.resource`, `requestObject.spec.containers[*].image`,
// `annotations["authorization.k8s.io/decision"]`. Arrays fan out implicitly (`[*]` is allowed for
// readability), so a path yields every value it reaches and a test matches when any value does — Falco's
// `intersects` semantics, which is what rules over lists of containers or volumes need.

export type PathSegment = string | number;

export interface FieldPath {
  readonly text: string;
  readonly segments: readonly PathSegment[];
}

/** Parses a path; throws an Error whose message says what is wrong with it. */
export function parseFieldPath(text: string): FieldPath {
  const segments: PathSegment[] = [];
  let i = 0;
  const fail = (why: string): never => {
    throw new Error(`invalid field path '${text}': ${why}`);
  };
  if (text.length === 0) fail('empty');
  while (i < text.length) {
    const ch = text[i];
    if (ch === '[') {
      const close = text.indexOf(']', i);
      if (close < 0) fail('unclosed [');
      const inner = text.slice(i + 1, close);
      if (inner === '*') {
        // Arrays fan out anyway; the wildcard only documents intent.
      } else if (/^\d+$/.test(inner)) {
        segments.push(Number(inner));
      } else if (/^"[^"]*"$/.test(inner) || /^'[^']*'$/.test(inner)) {
        segments.push(inner.slice(1, -1));
      } else {
        fail(`bad bracket segment [${inner}]`);
      }
      i = close + 1;
      if (text[i] === '.') i++;
    } else {
      let end = i;
      while (end < text.length && text[end] !== '.' && text[end] !== '[') end++;
      const name = text.slice(i, end);
      if (!/^[A-Za-z_$][\w$-]*$/.test(name)) fail(`bad segment '${name}'`);
      segments.push(name);
      i = end;
      if (text[i] === '.') {
        i++;
        if (i >= text.length) fail('trailing dot');
      }
    }
  }
  return { text, segments };
}

/** Every value the path reaches in `root`; arrays met on the way (and at the end) are fanned out. */
export function resolveField(root: unknown, path: FieldPath): unknown[] {
  let current: unknown[] = [root];
  for (const segment of path.segments) {
    const next: unknown[] = [];
    for (const value of current) {
      if (value === null || value === undefined) continue;
      if (Array.isArray(value) && typeof segment === 'string') {
        for (const item of value) pushChild(next, item, segment);
      } else {
        pushChild(next, value, segment);
      }
    }
    current = next;
    if (current.length === 0) return current;
  }
  const out: unknown[] = [];
  for (const value of current) {
    if (Array.isArray(value)) out.push(...value);
    else if (value !== undefined && value !== null) out.push(value);
  }
  return out;
}

function pushChild(out: unknown[], value: unknown, segment: PathSegment): void {
  if (value === null || typeof value !== 'object') return;
  const child = (value as Record<string | number, unknown>)[segment];
  if (child !== undefined && child !== null) out.push(child);
}
