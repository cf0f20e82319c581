// What crosses between the main thread and a worker thread: the pool's data, one attempt's job and answer, and the pool's channel messages.

/** What every thread of one pool is given once, at its start (piscina's workerData). */
export interface PoolData {
  /** The tasks module, as a file: URL. */
  readonly module: string;
  /** The name of the pool's BroadcastChannel: aborts go to the threads on `${channel}:down`, the rest up on `${channel}:up`. */
  readonly channel: string;
}

/** One attempt of one task, as a worker thread receives it. */
export interface ThreadJob {
  /** The task's defineTask name. */
  readonly name: string;
  readonly args: unknown[];
  /** The task's id, what taskId() answers in the thread. */
  readonly id: string | undefined;
  /** The attempt's number in its pool: what the channel's messages about it carry. */
  readonly attempt: number;
  /** Indexes of arguments that were Buffers (a structured clone makes them Uint8Arrays, so they are made Buffers again); absent when none. */
  readonly buffers?: readonly number[];
}

/** A reason or an error, reduced to what survives a structured clone with its name intact. */
export interface SentError {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  /** Kept when it is a string or a number (Node's and most libraries' codes); anything else is left behind. */
  readonly code: string | number | undefined;
  /** A RetryAfterError's wait in ms, so that the main thread's retry waits as the task asked. */
  readonly retryAfter?: number;
}

/** A task's progress, as taskProgress() was last called with it. */
export interface SentProgress {
  readonly value: number;
  readonly message: string | undefined;
}

/**
 * What a thread answers: nothing on success; otherwise what the task threw, or why the task was not found. `progress`
 * carries the task's last progress, if it reported any: it arrives before the outcome is counted.
 */
export type ThreadAnswer =
  | undefined
  | { readonly kind: 'ok'; readonly progress: SentProgress }
  | { readonly kind: 'error'; readonly error: SentError; readonly progress?: SentProgress }
  | { readonly kind: 'thrown'; readonly value: unknown; readonly progress?: SentProgress }
  | { readonly kind: 'not-found'; readonly message: string };

/** From the main thread to the threads: an attempt's signal aborted. */
export interface AbortMessage {
  readonly attempt: number;
  readonly reason: SentError;
}

/** From a thread to the main thread: the attempt's code asked for its signal (send its abort), or reported progress. */
export type UpMessage =
  | { readonly kind: 'listen'; readonly attempt: number }
  | { readonly kind: 'progress'; readonly attempt: number; readonly progress: SentProgress };

/** Reads a property that may be a throwing getter: reporting an error must never throw. */
function read(error: object, key: string): unknown {
  try {
    return (error as Record<string, unknown>)[key];
  } catch {
    return undefined;
  }
}

export function sendError(error: Error): SentError {
  const name = read(error, 'name');
  const message = read(error, 'message');
  const stack = read(error, 'stack');
  const code = read(error, 'code');
  const retryAfter = read(error, 'retryAfter');
  const sent: SentError = {
    name: typeof name === 'string' ? name : 'Error',
    message: typeof message === 'string' ? message : '(its message could not be read)',
    stack: typeof stack === 'string' ? stack : undefined,
    code: typeof code === 'string' || typeof code === 'number' ? code : undefined,
  };
  return typeof retryAfter === 'number' ? { ...sent, retryAfter } : sent;
}

/** An Error on this side with the sent name, message, stack and code. */
export function receiveError(sent: SentError): Error {
  const error = new Error(sent.message);
  error.name = sent.name;
  if (sent.stack !== undefined) error.stack = sent.stack;
  if (sent.code !== undefined) (error as { code?: unknown }).code = sent.code;
  if (sent.retryAfter !== undefined) (error as { retryAfter?: number }).retryAfter = sent.retryAfter;
  return error;
}
