/** A bounded Map: inserting past `max` drops the oldest entry. Lookups never hit the store twice for a cached key. */
export class BoundedCache<K, V> {
  #map = new Map<K, V>();
  #max: number;
  constructor(max = 10_000) {
    this.#max = max;
  }
  get(k: K): V | undefined {
    return this.#map.get(k);
  }
  has(k: K): boolean {
    return this.#map.has(k);
  }
  set(k: K, v: V): void {
    this.#map.delete(k);
    this.#map.set(k, v);
    if (this.#map.size > this.#max) this.#map.delete(this.#map.keys().next().value!);
  }
  delete(k: K): void {
    this.#map.delete(k);
  }
  deleteWhere(pred: (k: K, v: V) => boolean): void {
    for (const [k, v] of this.#map) if (pred(k, v)) this.#map.delete(k);
  }
  clear(): void {
    this.#map.clear();
  }
}
