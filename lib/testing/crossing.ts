// What a task's arguments go through on their way to where the task would run: a queue's encoding, a thread's structured clone.
import { decodeArgs, encodeArgs } from '../args-codec.js';

/**
 * The arguments as a queue worker reads them: encoded as the runner stores them in the job's data (args-codec.ts,
 * checked at addTask), through the JSON BullMQ keeps job data in, and decoded as the worker does. What a queue cannot
 * carry throws here.
 */
export function throughQueue(args: readonly unknown[]): unknown[] {
  const decoded = decodeArgs(JSON.parse(JSON.stringify(encodeArgs(args))));
  if (typeof decoded === 'string') throw new TypeError(`the arguments could not be read back: ${decoded}`);
  return decoded;
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
