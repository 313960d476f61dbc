// Structured (JSON) log lines, common in containers: `{"level":"info","ts":...,"msg":"started server","port":80}`.
// Split on whitespace, such a line mixes keys, values and message words in tokens. Flattened here to
// `<message> key=value ...` (message first, so the tree routes on its words; other keys in line order), and the
// miner masks the values like any key=value. A line that is not a JSON object is returned unchanged.

const MESSAGE_KEYS = ['msg', 'message', 'log', 'Message', 'MESSAGE', 'text'];
const MAX_JSON_CHARS = 64 * 1024;

function flatValue(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return /\s/.test(v) ? JSON.stringify(v) : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  // Nested objects and arrays: one value (their content varies with the call, not with the statement).
  return '<*>';
}

export function flattenJsonLine(line: string): string {
  const first = line.charCodeAt(0);
  if (first !== 123 || line.length > MAX_JSON_CHARS) return line; // '{'
  let obj: unknown;
  try {
    obj = JSON.parse(line);
  } catch {
    return line;
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return line;
  const record = obj as Record<string, unknown>;
  const parts: string[] = [];
  let messageKey: string | undefined;
  for (const k of MESSAGE_KEYS) {
    if (typeof record[k] === 'string') {
      messageKey = k;
      parts.push(record[k] as string);
      break;
    }
  }
  for (const [k, v] of Object.entries(record)) {
    if (k !== messageKey) parts.push(`${k}=${flatValue(v)}`);
  }
  return parts.join(' ');
}
