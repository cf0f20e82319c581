// What crosses between the main thread and a worker thread for one task: the job, an abort, and a failure.

/** One attempt of one task, as a worker thread receives it. */
export interface ThreadJob {
  /** The tasks module, as a file: URL. */
  readonly module: string;
  /** The task's defineTask name. */
  readonly name: string;
  readonly args: unknown[];
  /** The queue task id (taskId()) when a queue worker runs the task. */
  readonly id: string | undefined;
  /** Receives one message if the task's signal aborts: its reason. */
  readonly port: import('node:worker_threads').MessagePort;
  /** Indexes of arguments that were Buffers: a structured clone makes them Uint8Arrays, so they are made Buffers again. */
  readonly buffers: readonly number[];
}

/** A reason or an error, reduced to what survives a structured clone with its name intact. */
export interface SentError {
  readonly name: string;
  readonly message: string;
  readonly stack: string | undefined;
  readonly code: unknown;
  /** A RetryAfterError's wait in ms, so that the main thread's retry waits as the task asked. */
  readonly retryAfter?: number;
}

/** What a thread answers: nothing on success; otherwise what the task threw, or why the task was not found. */
export type ThreadAnswer =
  | undefined
  | { readonly kind: 'error'; readonly error: SentError }
  | { readonly kind: 'thrown'; readonly value: unknown }
  | { readonly kind: 'not-found'; readonly message: string };

export function sendError(error: Error): SentError {
  const sent = { name: error.name, message: error.message, stack: error.stack, code: (error as { code?: unknown }).code };
  const retryAfter = (error as { retryAfter?: unknown }).retryAfter;
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
