// An exemplar line as its template's variable parts (`LogStreamSummary.template_exemplars`): the aggregator
// holds the template's text, so the line is sent as what each `<*>` stood for. Lossless by construction: the
// agent uses the form only when the parts rebuild the very line.

const WILDCARD = '<*>';

/** The parts of `line` that `text`'s wildcards stand for, or undefined when the line does not rebuild from them. */
export function paramsOf(text: string, line: string): string[] | undefined {
  const pieces = text.split(WILDCARD);
  const first = pieces[0]!;
  if (pieces.length === 1) return line === text ? [] : undefined;
  if (!line.startsWith(first)) return undefined;
  const last = pieces.at(-1)!;
  const end = line.length - last.length;
  if (end < first.length || !line.endsWith(last)) return undefined;
  const params: string[] = [];
  let at = first.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    const next = line.indexOf(pieces[i]!, at);
    if (next < 0 || next > end) return undefined;
    params.push(line.slice(at, next));
    at = next + pieces[i]!.length;
  }
  if (at > end) return undefined;
  params.push(line.slice(at, end));
  return lineOf(text, params) === line ? params : undefined;
}

/** The line a template's text and its params stand for; undefined when the params do not fit the text. */
export function lineOf(text: string, params: readonly string[]): string | undefined {
  const pieces = text.split(WILDCARD);
  if (pieces.length !== params.length + 1) return undefined;
  let out = pieces[0]!;
  for (let i = 0; i < params.length; i++) out += params[i]! + pieces[i + 1]!;
  return out;
}
