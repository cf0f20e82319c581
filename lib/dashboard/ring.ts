// A fixed-size list that keeps the last N items pushed: the dashboard's bounded history.

export class Ring<T> {
  readonly #items: Array<T | undefined>;
  #next = 0;
  #size = 0;

  constructor(capacity: number) {
    this.#items = new Array<T | undefined>(capacity);
  }

  get size(): number {
    return this.#size;
  }

  /** Adds an item, dropping the oldest once full. */
  push(item: T): void {
    const capacity = this.#items.length;
    this.#items[this.#next] = item;
    this.#next = (this.#next + 1) % capacity;
    if (this.#size < capacity) this.#size++;
  }

  /** Every item kept, newest first. */
  *newestFirst(): Generator<T> {
    const capacity = this.#items.length;
    for (let i = 1; i <= this.#size; i++) yield this.#items[(this.#next - i + capacity) % capacity] as T;
  }
}
