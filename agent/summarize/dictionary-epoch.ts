// Summary dictionary epochs (docs/summaries.md), counted in the agent's LMDB so that every process, and every
// restart of the dictionary within one, gets an epoch no earlier batch of this node used.
import type { RootDatabase } from 'lmdb';

/** Returns a function that hands out the next epoch (1 and up, wrapping within uint32), persisted at once. */
export function dictionaryEpochs(root: RootDatabase): () => number {
  const db = root.openDB<number, string>({ name: 'summary-dictionary', encoding: 'msgpack' });
  return () => {
    const next = ((db.get('epoch') ?? 0) % 0xffff_fffe) + 1;
    db.putSync('epoch', next);
    return next;
  };
}
