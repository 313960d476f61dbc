// Variable masking for the template miner: turns one log line into tokens where the parts that vary from
// line to line (numbers, ids, addresses, paths, key=value values, ...) are replaced by the wildcard `<*>`.
// The rules are general shapes of variables, never words of a particular log source. The hot path is a
// char-code scan per token (no regex per token): the miner calls this for every line it sees.

export const WILDCARD = '<*>';

/** Tokens longer than this are masked outright; a line is cut after `MAX_TOKENS` tokens (tail = one `<*>`). */
const MAX_TOKEN_CHARS = 256;
export const MAX_TOKENS = 256;

const C_TAB = 9;
const C_SPACE = 32;
const C_ZERO = 48;
const C_NINE = 57;
const C_EQ = 61;
const C_SLASH = 47;
const C_BACKSLASH = 92;
const C_COLON = 58;
const C_AT = 64;
const C_DOT = 46;

// Units that follow a number ("21.3 KB", "5 ms"): the unit varies with the magnitude, so it is a variable too.
const UNITS = new Set([
  'b',
  'kb',
  'mb',
  'gb',
  'tb',
  'kib',
  'mib',
  'gib',
  'tib',
  'byte',
  'bytes',
  'ns',
  'us',
  'µs',
  'ms',
  's',
  'sec',
  'secs',
  'second',
  'seconds',
  'min',
  'mins',
  'minute',
  'minutes',
  'h',
  'hr',
  'hrs',
  'hour',
  'hours',
]);

// Calendar words are variables when they sit next to a number (`Fri Jun 17 07:07:00`), words otherwise.
const CALENDAR = new Set([
  'mon',
  'tue',
  'wed',
  'thu',
  'fri',
  'sat',
  'sun',
  'monday',
  'tuesday',
  'wednesday',
  'thursday',
  'friday',
  'saturday',
  'sunday',
  'jan',
  'feb',
  'mar',
  'apr',
  'may',
  'jun',
  'jul',
  'aug',
  'sep',
  'sept',
  'oct',
  'nov',
  'dec',
  'january',
  'february',
  'march',
  'april',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
]);

// Generic top-level domains; two-letter last labels are taken as country codes.
const TLDS = new Set([
  'com',
  'net',
  'org',
  'edu',
  'gov',
  'mil',
  'int',
  'info',
  'biz',
  'local',
  'internal',
  'arpa',
]);

function isDigit(c: number): boolean {
  return c >= C_ZERO && c <= C_NINE;
}

// Wrapper characters that surround a value without being part of it: `(uid=0)`, `[1.2.3.4]`, `"x",`.
function isOpener(c: number): boolean {
  return c === 40 || c === 91 || c === 123 || c === 60 || c === 34 || c === 39 || c === 96;
}

function isCloser(c: number): boolean {
  return (
    c === 41 || c === 93 || c === 125 || c === 62 || c === 34 || c === 39 || c === 96 || c === 44 || c === 59
  );
}

function isKeyChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 45 || c === C_DOT || isDigit(c);
}

/** Whether text[start, end) is a variable value: has a digit, or is a path, URL, e-mail or Windows path. */
export function isVariableValue(text: string, start: number, end: number): boolean {
  if (end - start > MAX_TOKEN_CHARS) return true;
  const first = text.charCodeAt(start);
  let slashes = 0;
  let at = -1;
  let dotAfterAt = false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c >= C_ZERO && c <= C_NINE) return true;
    if (c === C_SLASH) slashes++;
    else if (c === C_AT) at = i;
    else if (c === C_DOT && at >= 0 && i > at + 1) dotAfterAt = true;
    else if (c === C_COLON && i + 2 < end && text.charCodeAt(i + 1) === C_SLASH) return true; // scheme://
  }
  // Absolute or home-relative paths (`/var/log/x`, `~/.ssh`, `./run`); a lone `/` is punctuation.
  if (first === C_SLASH && end - start > 1) return true;
  if (slashes > 0 && (first === 126 || first === C_DOT) && text.charCodeAt(start + 1) === C_SLASH)
    return true;
  if (first !== undefined && end - start > 2 && text.charCodeAt(start + 1) === C_COLON) {
    const after = text.charCodeAt(start + 2);
    if (after === C_BACKSLASH || after === C_SLASH) return true; // C:\ or C:/
  }
  if (at > start && dotAfterAt) return true; // user@host.domain
  return isHostName(text, start, end);
}

/** `a.b.example.com`: lowercase dotted labels ending in a top-level domain (not a `org.acme.Class` name). */
function isHostName(text: string, start: number, end: number): boolean {
  let dots = 0;
  let lastDot = -1;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === C_DOT) {
      if (i === lastDot + 1 || i === start) return false;
      dots++;
      lastDot = i;
    } else if (!((c >= 97 && c <= 122) || c === 45 || isDigit(c))) return false;
  }
  if (dots < 2 || lastDot >= end - 1) return false;
  const tld = text.slice(lastDot + 1, end);
  return tld.length === 2 || TLDS.has(tld);
}

/**
 * Masks one whitespace-delimited token text[start, end). Returns the token itself when nothing varies, so the
 * common case allocates no new string beyond the slice.
 */
export function maskToken(text: string, start: number, end: number): string {
  let s = start;
  let e = end;
  while (s < e && isOpener(text.charCodeAt(s))) s++;
  while (e > s && (isCloser(text.charCodeAt(e - 1)) || text.charCodeAt(e - 1) === C_COLON)) e--;
  // Trailing full stop only when it ends a sentence, not a version or a host name like `a.b.c.`.
  if (e > s + 1 && text.charCodeAt(e - 1) === C_DOT) e--;
  // An empty pair of brackets or quotes is a variable that happened to be empty: `()` reads as `(<*>)`.
  if (s >= e)
    return s - start === end - e && s > start
      ? text.slice(start, s) + WILDCARD + text.slice(e, end)
      : text.slice(start, end);
  // A quoted word inside a message is an inserted name (`service 'sparkDriver' started`), unless it is an enum.
  if (
    s > start &&
    isQuote(text.charCodeAt(s - 1)) &&
    e < end &&
    text.charCodeAt(e) === text.charCodeAt(s - 1)
  ) {
    if (!isEnumWord(text, s, e)) return text.slice(start, s) + WILDCARD + text.slice(e, end);
  }
  if (isVariableValue(text, s, e)) {
    // Keyed values keep their keys: `uid=0` → `uid=<*>`, `<memory:1024,` → `<memory:<*>,`.
    const vs = skipKeys(text, s, e);
    if (vs === s)
      return s === start && e === end ? WILDCARD : text.slice(start, s) + WILDCARD + text.slice(e, end);
    let ve = e;
    while (ve > vs && isCloser(text.charCodeAt(ve - 1))) ve--;
    if (vs >= ve || !isVariableValue(text, vs, ve)) return text.slice(start, end);
    return text.slice(start, vs) + WILDCARD + text.slice(ve, end);
  }
  // A word-only token can still be `key=value` with a structured value: `rhost=a.example.com`.
  const vs = skipKeys(text, s, e);
  if (vs > s && text.charCodeAt(vs - 1) === C_EQ) {
    let ve = e;
    while (ve > vs && isCloser(text.charCodeAt(ve - 1))) ve--;
    if (vs < ve && isStructuredValue(text, vs, ve))
      return text.slice(start, vs) + WILDCARD + text.slice(ve, end);
  }
  return text.slice(start, end);
}

function isQuote(c: number): boolean {
  return c === 34 || c === 39 || c === 96;
}

function isEnumWord(text: string, s: number, e: number): boolean {
  let letters = 0;
  for (let i = s; i < e; i++) {
    const c = text.charCodeAt(i);
    if (c >= 65 && c <= 90) letters++;
    else if (c !== 95) return false;
  }
  return letters >= 2;
}

function isKeyStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}

// Key delimiters: `key=v`, `key:v`, `fn(v`, `type<v`, `name[v`.
function isKeyDelimiter(c: number): boolean {
  return c === C_EQ || c === C_COLON || c === 40 || c === 60 || c === 91;
}

/** Skips a chain of `key<delimiter>` prefixes (keys are letters, `_`, `.`, `-`; no digits); returns the value start. */
function skipKeys(text: string, s: number, e: number): number {
  let pos = s;
  for (;;) {
    let i = pos;
    while (i < e && isOpener(text.charCodeAt(i))) i++;
    if (i >= e || !isKeyStart(text.charCodeAt(i))) return pos;
    while (i < e && isKeyChar(text.charCodeAt(i))) i++;
    if (i >= e || !isKeyDelimiter(text.charCodeAt(i))) return pos;
    // `scheme://` and `a::b` are one value (URL, IPv6), not a key.
    const next = text.charCodeAt(i + 1);
    if (text.charCodeAt(i) === C_COLON && (next === C_SLASH || next === C_COLON)) return pos;
    i++;
    while (i < e && isOpener(text.charCodeAt(i))) i++;
    pos = i;
  }
}

/** A key=value value is variable unless it is a plain word (`user=root` keeps `root`, `host=a.b` does not). */
function isStructuredValue(text: string, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === C_DOT || c === C_SLASH || c === C_COLON || c === C_AT || c === C_BACKSLASH) return true;
  }
  return isVariableValue(text, start, end);
}

function caseVariants(words: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const w of words) {
    out.add(w);
    out.add(w.toUpperCase());
    out.add(w.charAt(0).toUpperCase() + w.slice(1));
  }
  return out;
}

// Case variants precomputed so the hot path looks tokens up without lower-casing (no allocation).
const UNITS_ANY_CASE = caseVariants([...UNITS]);
const CALENDAR_ANY_CASE = caseVariants([...CALENDAR]);

// Character classes of the token scan (ASCII; everything else is an ordinary character).
const PLAIN = 0;
const DIGIT = 1;
// Characters after which a token needs the full rules (paths, keys, wrappers, e-mails, host names).
const SPECIAL = 2;
const SPACE = 3;
const CLASS = new Uint8Array(128);
for (let c = C_ZERO; c <= C_NINE; c++) CLASS[c] = DIGIT;
for (const ch of '/\\@=.:([{<"\'`~') CLASS[ch.charCodeAt(0)] = SPECIAL;
for (const c of [C_SPACE, C_TAB, 10, 11, 12, 13]) CLASS[c] = SPACE;

// Calendar words by their first three letters (any case), units by their first letter, so that most words
// skip the set lookups (which hash the word).
const CALENDAR_PREFIX = new Uint8Array(32 * 32 * 32);
for (const w of CALENDAR_ANY_CASE) CALENDAR_PREFIX[prefix3(w)] = 1;
const UNIT_FIRST = new Uint8Array(32);
for (const w of UNITS_ANY_CASE) UNIT_FIRST[w.charCodeAt(0) & 31] = 1;

function prefix3(w: string): number {
  return ((w.charCodeAt(0) & 31) << 10) | ((w.charCodeAt(1) & 31) << 5) | (w.charCodeAt(2) & 31);
}

// Tokens without a digit but with punctuation (`dfs.DataNode$PacketResponder:`, `[main]`, `user=root`) repeat
// from line to line and need the full rules: their masked form is remembered. Bounded: emptied when full.
const TOKEN_CACHE_MAX = 8192;
const tokenCache = new Map<string, string>();

function maskWordToken(text: string, start: number, end: number): string {
  const token = text.slice(start, end);
  let masked = tokenCache.get(token);
  if (masked === undefined) {
    masked = detach(maskToken(text, start, end));
    if (tokenCache.size >= TOKEN_CACHE_MAX) tokenCache.clear();
    tokenCache.set(detach(token), masked);
  }
  return masked;
}

/**
 * A copy of `s` that does not share the storage of the string it was cut from (V8 cuts slices of 13+ characters
 * by reference): for what is kept (caches, templates), so that it does not keep a whole line or batch alive.
 */
export function detach(s: string): string {
  return s.length < 13 ? s : ` ${s}`.slice(1);
}

/** Splits a line on whitespace and masks every token. At most `MAX_TOKENS` tokens; the rest becomes `<*>`. */
export function maskLine(line: string, out: string[] = []): string[] {
  return maskRange(line, 0, line.length, out);
}

/**
 * `maskLine` of `text[from, to)`, a line inside a larger text (a batch of lines), without cutting it out first.
 * The character at `to` must be whitespace or the end of `text` (lines separated by LF qualify).
 */
export function maskRange(text: string, from: number, to: number, out: string[] = []): string[] {
  // Written by index and cut to length at the end: emptying the array first would free its storage each line.
  let w = 0;
  let i = from;
  let prevWild = false;
  // Positions of calendar words (bit per token; `-1` once one sits beyond bit 30: then all are looked up).
  let calendar = 0;
  let annotation = false;
  while (i < to) {
    const first = text.charCodeAt(i);
    if (first < 128 && CLASS[first] === SPACE) {
      i++;
      continue;
    }
    if (w === MAX_TOKENS - 1) {
      out[w++] = WILDCARD;
      break;
    }
    const start = i;
    let digits = 0;
    let special = 0;
    for (; i < to; i++) {
      const c = text.charCodeAt(i);
      if (c >= 128) continue;
      const k = CLASS[c];
      if (k === PLAIN) continue;
      if (k === SPACE) break;
      if (k === DIGIT) digits++;
      else special++;
    }
    const len = i - start;
    let token: string;
    if (digits === len || len > MAX_TOKEN_CHARS) {
      token = WILDCARD; // a plain number (the most common variable) or a blob
    } else if (special === 0) {
      if (digits > 0) {
        // Digits without punctuation (`blk_42`, `3ms`, `12),`): the whole value is a variable; closing
        // brackets and separators after it stay (what `maskToken` does for this shape, without its passes).
        let e = i;
        while (e > start && isCloser(text.charCodeAt(e - 1))) e--;
        token = e === i ? WILDCARD : WILDCARD + text.slice(e, i);
      } else {
        token = text.slice(start, i);
        if (prevWild && len <= 7 && UNIT_FIRST[first & 31] === 1 && UNITS_ANY_CASE.has(token))
          token = WILDCARD;
        else if (
          len >= 3 &&
          len <= 9 &&
          CALENDAR_PREFIX[prefix3(token)] === 1 &&
          CALENDAR_ANY_CASE.has(token)
        )
          calendar = w < 31 && calendar !== -1 ? calendar | (1 << w) : -1;
      }
    } else if (digits > 0 && !isOpener(first) && !isKeyStart(first)) {
      // A value with digits that starts with neither a wrapper nor a key (`10.0.0.1:80`, `/10.2.3.4`,
      // `07:07:00`): all of it is the variable; what `maskToken` keeps is the trailing punctuation.
      let e = i;
      while (e > start && (isCloser(text.charCodeAt(e - 1)) || text.charCodeAt(e - 1) === C_COLON)) e--;
      if (e > start + 1 && text.charCodeAt(e - 1) === C_DOT) e--;
      token = e === i ? WILDCARD : WILDCARD + text.slice(e, i);
    } else {
      token = digits === 0 ? maskWordToken(text, start, i) : maskToken(text, start, i);
      // A masked token starts with `(` exactly when the raw one does (wrappers are kept).
      if (first === 40 && token.startsWith('(<*>')) annotation = true;
    }
    // A run of wildcards is one variable of variable length (`delete blk_1 blk_2 blk_3`).
    if (token === WILDCARD) {
      if (prevWild) continue;
      prevWild = true;
    } else prevWild = false;
    out[w++] = token;
  }
  if (out.length !== w) out.length = w;
  if (calendar !== 0) maskCalendarWords(out, calendar);
  if (annotation) dropValueAnnotations(out);
  return out;
}

function isCalendarWord(t: string): boolean {
  return t.length >= 3 && t.length <= 9 && CALENDAR_PREFIX[prefix3(t)] === 1 && CALENDAR_ANY_CASE.has(t);
}

// Calendar words are variables next to a number or another calendar word: `Fri Jun 17 07:07:00 2005`.
// `at`: bit i set when token i is a calendar word, or -1 (look every token up).
function maskCalendarWords(tokens: string[], at: number): void {
  const isAt = (i: number) => (at === -1 ? isCalendarWord(tokens[i]!) : i < 31 && (at & (1 << i)) !== 0);
  let changed = false;
  for (let i = 0; i < tokens.length; i++) {
    if (!isAt(i)) continue;
    const prev = i > 0 ? tokens[i - 1]! : '';
    const next = i + 1 < tokens.length ? tokens[i + 1]! : '';
    if (prev.includes(WILDCARD) || next.includes(WILDCARD) || (next !== '' && isAt(i + 1))) {
      tokens[i] = WILDCARD;
      changed = true;
    }
  }
  if (!changed) return;
  let w = 0;
  for (let r = 0; r < tokens.length; r++) {
    const t = tokens[r]!;
    if (t === WILDCARD && w > 0 && tokens[w - 1] === WILDCARD) continue;
    tokens[w++] = t;
  }
  tokens.length = w;
}

function isVariableOrUnit(token: string): boolean {
  return token === WILDCARD || UNITS_ANY_CASE.has(token);
}

// A parenthesised group of nothing but values and units annotates the value before it and is optional in
// practice (`1190 bytes (1.16 KB) sent` next to `0 bytes sent`): drop it so both lines have the same shape.
function dropValueAnnotations(tokens: string[]): void {
  let w = 0;
  for (let r = 0; r < tokens.length; r++) {
    const t = tokens[r]!;
    if (t.startsWith('(<*>') && w > 0) {
      let end = -1;
      if (t === '(<*>)') end = r;
      else if (t === '(<*>') {
        for (let j = r + 1; j < tokens.length && j <= r + 3; j++) {
          const u = tokens[j]!;
          if (u.endsWith(')')) {
            if (isVariableOrUnit(u.slice(0, -1))) end = j;
            break;
          }
          if (!isVariableOrUnit(u)) break;
        }
      }
      if (end >= 0) {
        r = end;
        continue;
      }
    }
    tokens[w++] = t;
  }
  tokens.length = w;
}
