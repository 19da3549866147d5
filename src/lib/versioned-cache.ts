/**
 * A bounded cache whose entries are valid for one version of the data only. The version is
 * read from the database on each use (DatabaseHandle.dataVersion: it changes with every commit,
 * whichever process or replica made it), so an entry can never outlive the data it was made
 * from: a reader that sees the same version as the writer of an entry sees the same rows.
 *
 * The rule that keeps it correct: read the version BEFORE computing a value to store under it.
 * The value then reflects that version or a later one, never an earlier one.
 *
 * Least recently used entries go first once the total weight passes `maxWeight`.
 */
export class VersionedCache<Value> {
  readonly #entries = new Map<string, { version: string; value: Value; weight: number }>();
  readonly #maxWeight: number;
  readonly #weigh: (value: Value, key: string) => number;
  #weight = 0;

  constructor(maxWeight: number, weigh: (value: Value, key: string) => number = () => 1) {
    this.#maxWeight = maxWeight;
    this.#weigh = weigh;
  }

  /** The value stored under `key` for exactly this version, if any. */
  get(key: string, version: string): Value | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.version !== version) {
      // Made from other data: useless now, whether the version moved on or this reader lags.
      this.#remove(key, entry.weight);
      return undefined;
    }
    // Most recently used last, so eviction (oldest first) spares it.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  /** Stores a value computed after `version` was read. */
  set(key: string, version: string, value: Value): void {
    const weight = this.#weigh(value, key);
    if (weight > this.#maxWeight) return;
    const previous = this.#entries.get(key);
    if (previous !== undefined) this.#remove(key, previous.weight);
    this.#entries.set(key, { version, value, weight });
    this.#weight += weight;
    for (const [oldestKey, oldest] of this.#entries) {
      if (this.#weight <= this.#maxWeight) break;
      this.#remove(oldestKey, oldest.weight);
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  get weight(): number {
    return this.#weight;
  }

  #remove(key: string, weight: number): void {
    this.#entries.delete(key);
    this.#weight -= weight;
  }
}
