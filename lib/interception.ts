// The process-wide interception point of the test kit's record mode: the recorder active now, if any.
import type { Scheduler } from './scheduler.js';
import type { Origin, Task } from './task.js';

/** Takes the finished responses' lists instead of letting them run or be handed to a queue (recordTasks()). */
export interface ListRecorder {
  /**
   * A list's tasks at the moment they would run or be handed off, in order, with the real skip decision (`skipReason`
   * undefined: they would run). The recorder keeps them and returns true (the list then does nothing with them), or
   * returns false to let the list go on as usual (a skipped list is still skipped and counted by the scheduler).
   */
  take(tasks: readonly Task[], origin: Origin, skipReason: string | undefined, scheduler: Scheduler): boolean;
}

/** Read once per list drain: while no recorder is active, that one read is all record mode costs. */
export const interception: { recorder: ListRecorder | undefined } = { recorder: undefined };
