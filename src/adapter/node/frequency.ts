/**
 * How often each cache key was asked for lately: TinyLFU's count-min sketch (Einziger, Friedman
 * and Manes, "TinyLFU: A Highly Efficient Cache Admission Policy"), as Caffeine's
 * FrequencySketch and Ristretto keep it: four rows of 4-bit counters (at most 15), a key's
 * estimate the least of its four, every counter halved once ten times as many requests as
 * there are counters a row were counted, so old popularity fades. Ours because no kept npm
 * package offers the sketch with that aging (bloom-filters' Count-Min Sketch never forgets), and
 * the gate adds no dependency for forty lines.
 * @module
 */

/** The most a counter holds (4 bits, as Caffeine's). */
export const MAX_COUNT = 15;
const DEPTH = 4;

/** Seeds of the four rows' hashes (Caffeine's SEED constants, low words). */
const SEEDS = [0x97cb3127, 0xb4e2b6a7, 0x8a0a0f9b, 0xc75c2a1f];

export interface FrequencySketch {
  /** Counts one request for `key`. */
  add(key: string): void;
  /** How often `key` was asked for lately (never less than the truth since the last halving). */
  estimate(key: string): number;
  /** Requests counted since the last halving (tests). */
  readonly additions: number;
  /** The memory its counters take. */
  readonly bytes: number;
}

/**
 * A sketch with `width` counters a row (rounded up to a power of two, at least 16); it halves
 * after `10 × width` additions.
 *
 * @example
 * ```ts
 * const sketch = frequencySketch(4096);
 * sketch.add("/v/seg-1.ts");
 * sketch.estimate("/v/seg-1.ts"); // 1
 * ```
 */
export function frequencySketch(width: number): FrequencySketch {
  let size = 16;
  while (size < width) size *= 2;
  const mask = size - 1;
  const table = new Uint8Array(size * DEPTH);
  const sampleSize = 10 * size;
  let additions = 0;

  /** FNV-1a over the key's UTF-16 units: the base hash each row re-mixes with its seed. */
  const hash = (key: string): number => {
    let h = 0x811c9dc5;
    for (let i = 0; i < key.length; i++) {
      h ^= key.charCodeAt(i);
      h = Math.imul(h, 0x01000193);
    }
    return h >>> 0;
  };
  const slot = (base: number, row: number): number => {
    let h = Math.imul(base ^ SEEDS[row]!, 0x9e3779b1);
    h ^= h >>> 15;
    h = Math.imul(h, 0x85ebca6b);
    h ^= h >>> 13;
    return row * size + (h & mask);
  };
  const halve = () => {
    for (let i = 0; i < table.length; i++) table[i] = table[i]! >>> 1;
    additions = Math.floor(additions / 2);
  };

  return {
    add(key) {
      const base = hash(key);
      let added = false;
      for (let row = 0; row < DEPTH; row++) {
        const at = slot(base, row);
        if (table[at]! < MAX_COUNT) {
          table[at]!++;
          added = true;
        }
      }
      // A key already at the top adds nothing (Caffeine counts only increments).
      if (added && ++additions >= sampleSize) halve();
    },
    estimate(key) {
      const base = hash(key);
      let least = MAX_COUNT;
      for (let row = 0; row < DEPTH; row++) least = Math.min(least, table[slot(base, row)]!);
      return least;
    },
    get additions() {
      return additions;
    },
    bytes: table.length,
  };
}
