// A Map with a size cap that evicts the least recently used entry, so per-source / per-identity state stays
// bounded whatever an attacker sends (one entry per source IP would otherwise grow without limit).

export class BoundedMap<K, V> {
  readonly #max: number;
  readonly #map = new Map<K, V>();
  #evicted = 0;

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError('max must be a positive integer');
    this.#max = max;
  }

  get size(): number {
    return this.#map.size;
  }

  /** How many entries were dropped to respect the cap (reported so eviction is never silent). */
  get evicted(): number {
    return this.#evicted;
  }

  get(key: K): V | undefined {
    const value = this.#map.get(key);
    if (value !== undefined) {
      // Re-insert to mark as most recently used (Map keeps insertion order).
      this.#map.delete(key);
      this.#map.set(key, value);
    }
    return value;
  }

  has(key: K): boolean {
    return this.#map.has(key);
  }

  set(key: K, value: V): void {
    if (this.#map.has(key)) this.#map.delete(key);
    this.#map.set(key, value);
    while (this.#map.size > this.#max) {
      const oldest = this.#map.keys().next();
      if (oldest.done) break;
      this.#map.delete(oldest.value);
      this.#evicted++;
    }
  }

  delete(key: K): boolean {
    return this.#map.delete(key);
  }

  keys(): IterableIterator<K> {
    return this.#map.keys();
  }

  entries(): IterableIterator<[K, V]> {
    return this.#map.entries();
  }
}
