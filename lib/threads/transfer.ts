// transfer(): marks a large ArrayBuffer (or a view of one) to be moved to the thread instead of copied.

type Movable = ArrayBuffer | ArrayBufferView;

const marked = new WeakSet<object>();

/**
 * Marks `value` so that, passed as an argument of a thread task, its memory is moved to the thread rather than
 * copied. After that the buffer is detached here (its byteLength is 0): do not use it again, nor retry such a task.
 */
export function transfer<T extends Movable>(value: T): T {
  marked.add(value);
  return value;
}

/** The ArrayBuffers to move for these arguments (top-level arguments marked with transfer()); undefined when none (most attempts: no array made). */
export function transferListOf(args: readonly unknown[]): ArrayBuffer[] | undefined {
  let list: ArrayBuffer[] | undefined;
  for (const arg of args) {
    if (arg === null || typeof arg !== 'object' || !marked.has(arg)) continue;
    const buffer = ArrayBuffer.isView(arg) ? arg.buffer : (arg as ArrayBuffer);
    if (!(buffer instanceof ArrayBuffer) || buffer.byteLength === 0) continue;
    list ??= [];
    if (!list.includes(buffer)) list.push(buffer);
  }
  return list;
}
