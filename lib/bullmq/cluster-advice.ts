// What a MOVED, ASK or CROSSSLOT reply from Redis says about the connection option: the wrong kind of connection or prefix, and what to change.

/** How deep to look into an error's `cause` (and ioredis's `lastNodeError`) for the reply. */
const MAX_DEPTH = 4;

const CLUSTER_CONNECTION =
  'this is a Redis Cluster: pass connection: { cluster: [{ host, port }, ...] } (some of its nodes) to bullmqRunner() and runWorker(), ' +
  'with the same prefix in both (default "{bull}" there)';

const ADVICE: ReadonlyArray<readonly [RegExp, string]> = [
  [/^(MOVED|ASK) \d+ /, CLUSTER_CONNECTION],
  [
    /^CROSSSLOT\b/,
    "the keys of one queue fall in different slots of a Redis Cluster: connect with connection: { cluster: [...] } and a prefix that holds a hash tag, such as '{bull}' (the default with a cluster), the same in bullmqRunner() and runWorker()",
  ],
];

/**
 * What to change when `error` (or an error it wraps) is a MOVED, ASK or CROSSSLOT reply: those mean the connection
 * is not of the right kind (one server's client talking to a cluster) or the prefix has no hash tag, which no retry
 * can fix. Undefined for any other error.
 */
export function clusterAdvice(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < MAX_DEPTH && current instanceof Error; depth++) {
    const message = messageOf(current);
    for (const [reply, advice] of ADVICE) if (reply.test(message)) return advice;
    const next = causeOf(current);
    if (next === current) break;
    current = next;
  }
  return undefined;
}

/** An error's message, or '' when reading it throws (a hostile getter must not break a report). */
function messageOf(error: Error): string {
  try {
    return typeof error.message === 'string' ? error.message : '';
  } catch {
    return '';
  }
}

/** The error it wraps: `cause`, or ioredis's ClusterAllFailedError `lastNodeError`. */
function causeOf(error: Error): unknown {
  try {
    return error.cause ?? (error as { lastNodeError?: unknown }).lastNodeError;
  } catch {
    return undefined;
  }
}
