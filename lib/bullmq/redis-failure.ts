// Whether a failed try to store a list may succeed later (the connection) or never will (the list itself): the runner's one retry-or-give-up decision.

/** System error codes of a connection that failed or was cut; the runner's own enqueue deadline uses ETIMEDOUT. */
const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/** Replies that Redis gives while it loads, fails over or reshards: the same list goes through once that is over. */
const TRANSIENT_REPLY = /^(CLUSTERDOWN|LOADING|TRYAGAIN|MASTERDOWN|READONLY)\b/;

/**
 * ioredis's words for a client that is not connected (enableOfflineQueue: false), a command cut by a closing
 * connection, and a command that got no answer in time (commandTimeout).
 */
const CONNECTION_MESSAGE =
  /Stream isn't writeable|Connection is closed|Command aborted due to connection close|Command timed out|max retries per request|Socket closed unexpectedly/i;

/**
 * ioredis Cluster's words for a cluster it cannot reach as a whole: no node answers, its slots cannot be read, or
 * it keeps redirecting while a failover moves slots. A resend after it settles can succeed.
 */
const CLUSTER_MESSAGE =
  /Too many Cluster redirections|Cluster isn't ready|Cluster is disconnected|None of startup nodes is available|Node is disconnected|Failed to refresh slots cache/i;

/**
 * True when `error` says that the connection to Redis failed (not connected, refused, reset, closed, no answer
 * within the enqueue deadline) or that Redis is briefly unable to answer (CLUSTERDOWN, LOADING, TRYAGAIN,
 * MASTERDOWN, READONLY during a failover): trying the same list again later can succeed. False for anything else,
 * which trying again would repeat for ever: a reply refusing the command itself (a payload over
 * `proto-max-bulk-len`, MOVED/ASK/CROSSSLOT from a cluster, a script error), or an error thrown by BullMQ's own code
 * (a RangeError, a TypeError). The runner gives such a list up at once.
 */
export function isConnectionFailure(error: unknown): boolean {
  if (error === null || typeof error !== 'object') return false;
  const { code, message, name } = error as { code?: unknown; message?: unknown; name?: unknown };
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) return true;
  if (typeof message !== 'string') return false;
  if (name === 'ReplyError') return TRANSIENT_REPLY.test(message);
  if (name === 'MaxRetriesPerRequestError' || name === 'ClusterAllFailedError') return true;
  return CONNECTION_MESSAGE.test(message) || CLUSTER_MESSAGE.test(message);
}

/** The error of a try that got no answer within the enqueue deadline: a connection failure (ETIMEDOUT). */
export function noAnswerError(timeoutMs: number): Error {
  return Object.assign(new Error(`no answer from Redis within ${timeoutMs} ms (enqueueTimeout)`), { code: 'ETIMEDOUT' });
}
