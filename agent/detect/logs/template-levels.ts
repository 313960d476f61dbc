// The level of a mined line from its template, not from a regex over every line: the level words of a line sit in
// the constant part of its template almost always (`connection refused to <*>`), so the template's level is
// computed once per template text, and only the line's own words at the template's generalised positions
// (a word that became `<*>` because it varied) are looked at per line. Words inside masked values (numbers,
// paths, URLs, host names, quoted names) do not count: `GET /api/errors/5` is not an error line.
import { type LogLevel, levelOf, levelRank, mayHoldLevelWord } from './levels.ts';
import { detach, WILDCARD } from './masking.ts';

interface TemplateLevel {
  text: string;
  level: LogLevel;
  /** Positions of `<*>` in the template, where the line's own word may carry a level. */
  wild: number[];
}

/** Words seen at generalised positions, their level memoized (emptied when full). */
const WORD_CACHE_MAX = 4096;
/** Longer words are classified each time. */
const WORD_CACHE_CHARS = 64;
/** Templates remembered (ids of merged templates are forgotten by emptying the cache when it is full). */
const TEMPLATE_CACHE_MAX = 20_000;

export class TemplateLevels {
  private readonly byId = new Map<string, TemplateLevel>();
  private readonly words = new Map<string, LogLevel>();

  /**
   * Level of a line, which went to template `id` (text `template`, tokens `templateTokens`), given its masked
   * tokens. Without template tokens (overflow) or when they do not line up, the line `text[from, to)` itself is
   * classified.
   */
  levelOf(
    id: string,
    template: string,
    templateTokens: readonly string[] | undefined,
    lineTokens: readonly string[],
    text: string,
    from: number,
    to: number,
  ): LogLevel {
    if (templateTokens === undefined || templateTokens.length !== lineTokens.length)
      return levelOf(text.slice(from, to));
    let t = this.byId.get(id);
    if (t === undefined || t.text !== template) {
      const wild: number[] = [];
      for (let i = 0; i < templateTokens.length; i++) if (templateTokens[i] === WILDCARD) wild.push(i);
      t = { text: template, level: levelOf(template), wild };
      if (this.byId.size >= TEMPLATE_CACHE_MAX) this.byId.clear();
      this.byId.set(id, t);
    }
    let level = t.level;
    if (level === 'critical') return level;
    for (const p of t.wild) {
      const word = lineTokens[p]!;
      if (word === WILDCARD) continue;
      const l = this.wordLevel(word);
      if (levelRank(l) > levelRank(level)) level = l;
    }
    return level;
  }

  private wordLevel(word: string): LogLevel {
    if (!mayHoldLevelWord(word)) return 'info';
    if (word.length > WORD_CACHE_CHARS) return levelOf(word);
    let l = this.words.get(word);
    if (l === undefined) {
      l = levelOf(word);
      if (this.words.size >= WORD_CACHE_MAX) this.words.clear();
      // A copy: the word may be a slice of its whole line, which the cache must not keep alive.
      this.words.set(detach(word), l);
    }
    return l;
  }
}
