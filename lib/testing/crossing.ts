// What a task's arguments go through on their way to where the task would run: a queue's JSON round trip, a thread's structured clone.

/**
 * The arguments as a queue worker reads them: stored as JSON (checked JSON-safe at addTask), read back. What JSON
 * changes (an array hole becomes null, -0 becomes 0) changes here too, and what it cannot write throws here.
 */
export function throughQueue(args: readonly unknown[]): unknown[] {
  return JSON.parse(JSON.stringify(args)) as unknown[];
}

/**
 * The arguments as a worker thread receives them: a structured clone, the top-level Buffers made Buffers again (as
 * the thread side does). What a clone refuses (a function, a class's methods) throws here.
 */
export function throughThread(args: readonly unknown[]): unknown[] {
  const cloned = structuredClone(args as unknown[]);
  args.forEach((arg, i) => {
    if (Buffer.isBuffer(arg)) {
      const bytes = cloned[i] as Uint8Array;
      cloned[i] = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    }
  });
  return cloned;
}
