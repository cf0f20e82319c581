// What a MOVED, ASK or CROSSSLOT reply from Redis says about the connection option: the wrong kind of connection or prefix, and what to change.
import { type Connection, isCluster } from './connection.js';

/** How deep to look into an error's `cause` (and ioredis's `lastNodeError`) for the reply. */
const MAX_DEPTH = 4;

const CLUSTER_CONNECTION = 'this is a Redis Cluster: pass connection: { cluster: [{ host, port }, ...] } (some of its nodes)';
const SAME_IN_BOTH = 'in bullmqRunner() and runWorker() alike';

/** The reply (at the start of an ioredis ReplyError's message), and what to change. */
const ADVICE: ReadonlyArray<readonly [RegExp, string]> = [
  // A key of another node's slot (or one being moved): a client of one server was given a node of a cluster.
  [/^(MOVED|ASK) \d+ /, `${CLUSTER_CONNECTION} ${SAME_IN_BOTH}, with the same prefix (default "{bull}" there)`],
  // One script's keys in several slots: a client of one server on a cluster node, or a prefix without a hash tag.
  [
    /^CROSSSLOT\b/,
    `${CLUSTER_CONNECTION} and a prefix that holds a hash tag, such as "{bull}" (the default there), so that the keys of ` +
      `a queue share one slot, ${SAME_IN_BOTH}`,
  ],
];

/**
 * What to change when `error` (or an error it wraps) is a MOVED, ASK or CROSSSLOT reply to a client of one server:
 * the connection is not of the right kind (a node of a cluster was given as one server), which no retry can fix.
 * Undefined for any other error, and on a cluster connection, whose client follows MOVED and ASK itself (an error
 * that still names one there, "Too many Cluster redirections", is a cluster in the middle of a failover).
 */
export function clusterAdvice(error: unknown, connection: Connection): string | undefined {
  if (isCluster(connection)) return undefined;
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
