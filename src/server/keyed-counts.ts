/**
 * What each key holds now (watch streams per token, connections per address, telemetry batches per
 * host), with no entry for a key that holds nothing, so the map is as large as what is held.
 * @example if (counts.held(key) >= max) throw …; const release = counts.add(key); … release()
 */
export class KeyedCounts {
  private readonly byKey = new Map<string, number>();

  /** What `key` holds now. */
  held(key: string): number {
    return this.byKey.get(key) ?? 0;
  }

  /** Counts one more for `key`; the function returned gives it back, once however often it is called. */
  add(key: string): () => void {
    this.increment(key);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.decrement(key);
    };
  }

  /** Counts one more for `key`, given back with `decrement(key)`: for a caller that holds many and keeps no function per count. */
  increment(key: string): void {
    this.byKey.set(key, this.held(key) + 1);
  }

  /** Gives one back for `key` (nothing when it holds nothing). */
  decrement(key: string): void {
    const n = this.held(key) - 1;
    if (n <= 0) this.byKey.delete(key);
    else this.byKey.set(key, n);
  }
}
