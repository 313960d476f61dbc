// The subset of .dockerignore semantics our file uses: patterns relative to the context root, `*` and `?`
// within one path segment, `**` across segments, `!` re-includes, the last matching pattern wins, and a
// pattern that matches a directory excludes everything below it.
export type IgnoreRule = { negate: boolean; regex: RegExp };

function toRegex(pattern: string): RegExp {
  let source = '';
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern[i] as string;
    if (ch === '*' && pattern[i + 1] === '*') {
      // `**/` matches zero or more directories.
      source += pattern[i + 2] === '/' ? '(?:.*/)?' : '.*';
      i += pattern[i + 2] === '/' ? 2 : 1;
    } else if (ch === '*') source += '[^/]*';
    else if (ch === '?') source += '[^/]';
    else source += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${source}(?:/.*)?$`);
}

export function parseDockerignore(text: string): IgnoreRule[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const negate = line.startsWith('!');
      const pattern = (negate ? line.slice(1) : line).replace(/^\/+/, '').replace(/\/+$/, '');
      return { negate, regex: toRegex(pattern) };
    });
}

export function isIgnored(rules: IgnoreRule[], relativePath: string): boolean {
  let ignored = false;
  for (const rule of rules) if (rule.regex.test(relativePath)) ignored = !rule.negate;
  return ignored;
}
