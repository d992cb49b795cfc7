/** Remembers the last `capacity` message ids, so a redelivered message is emitted once. */
export class Dedupe {
  readonly #seen = new Set<string>();
  readonly #capacity: number;

  constructor(capacity = 10_000) {
    this.#capacity = capacity;
  }

  /** True the first time `id` is seen (and remembers it), false for a duplicate. */
  first(id: string): boolean {
    if (this.#seen.has(id)) return false;
    this.#seen.add(id);
    if (this.#seen.size > this.#capacity) {
      // Sets iterate in insertion order: drop the oldest.
      const oldest = this.#seen.values().next().value;
      if (oldest !== undefined) this.#seen.delete(oldest);
    }
    return true;
  }

  has(id: string): boolean {
    return this.#seen.has(id);
  }
}
