import { describe, expect, it } from 'vitest';
import { levelOf, mayHoldLevelWord } from '../../../agent/detect/logs/levels.ts';

const LEVEL_WORDS = [
  'fatal',
  'panic',
  'panicked',
  'emerg',
  'emergency',
  'crit',
  'critical',
  'severe',
  'error',
  'errors',
  'err',
  'exception',
  'traceback',
  'fail',
  'fails',
  'failed',
  'failure',
  'refused',
  'denied',
  'warn',
  'warning',
  'timeout',
];

/** A deterministic pseudo-random generator (tests must not depend on luck). */
function rng(seed: number): () => number {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s / 2 ** 32;
  };
}

describe('mayHoldLevelWord', () => {
  it('never rules out a word that holds a level word, in any case or wrapping', () => {
    const wraps = ['', '[', '(', '"', 'x-', 'a.', 'io:', '_'];
    const ends = ['', ']', ':', ',', ')', '.', '!', 'x', '_x', '-x', '42'];
    for (const w of LEVEL_WORDS) {
      for (const form of [w, w.toUpperCase(), w[0]!.toUpperCase() + w.slice(1)]) {
        for (const a of wraps) {
          for (const z of ends) {
            const word = a + form + z;
            if (levelOf(word) !== 'info') expect(mayHoldLevelWord(word), word).toBe(true);
          }
        }
      }
    }
  });

  it('rules out only words that hold none (20,000 random words of letters, digits and punctuation)', () => {
    const next = rng(7);
    const alphabet = 'abcdefghijklmnopqrstuvwxyzERFWTPCSDIAO_-.:[]()/=0123456789';
    let ruledOut = 0;
    for (let n = 0; n < 20_000; n++) {
      let word = '';
      const len = 2 + Math.floor(next() * 12);
      for (let i = 0; i < len; i++) word += alphabet[Math.floor(next() * alphabet.length)];
      // Plant a level word in every fourth one.
      if (n % 4 === 0) word += LEVEL_WORDS[n % LEVEL_WORDS.length];
      if (!mayHoldLevelWord(word)) {
        ruledOut++;
        expect(levelOf(word), word).toBe('info');
      }
    }
    // It is a filter worth having: most plain words are ruled out without a lookup.
    expect(ruledOut).toBeGreaterThan(10_000);
  });
});
