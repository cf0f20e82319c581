// The runner's one retry-or-give-up decision: which failed stores may succeed later (connection) and which never will.
import { isConnectionFailure, noAnswerError } from '../../lib/bullmq/redis-failure.js';

function reply(message: string): Error {
  return Object.assign(new Error(message), { name: 'ReplyError' });
}

describe('isConnectionFailure()', () => {
  test.each([
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })],
    ['the enqueue deadline', noAnswerError(500)],
    ['a client that is not connected', new Error("Stream isn't writeable and enableOfflineQueue options is false")],
    ['CLUSTERDOWN during a failover', reply('CLUSTERDOWN The cluster is down')],
    ['READONLY on a demoted master', reply("READONLY You can't write against a read only replica.")],
    ['a cluster redirecting while slots move', new Error('Too many Cluster redirections. Last error: Error: MOVED 1 127.0.0.1:7000')],
    ['a cluster not ready', new Error("Cluster isn't ready and enableOfflineQueue options is false")],
    ['no startup node', new Error('None of startup nodes is available')],
    ['slots unreadable', Object.assign(new Error('Failed to refresh slots cache.'), { name: 'ClusterAllFailedError' })],
  ])('%s is retried', (_what, error) => {
    expect(isConnectionFailure(error)).toBe(true);
  });

  test.each([
    ['a stack overflow in BullMQ', new RangeError('Maximum call stack size exceeded')],
    ['an oversized payload', reply('ERR Protocol error: invalid bulk length')],
    ['MOVED on a one-server connection', reply('MOVED 9263 127.0.0.1:7102')],
    ['CROSSSLOT', reply("CROSSSLOT Keys in request don't hash to the same slot")],
    ['a thrown string', 'ECONNREFUSED'],
    ['null', null],
  ])('%s is given up at once', (_what, error) => {
    expect(isConnectionFailure(error)).toBe(false);
  });
});
