// Type tests for express-background-tasks/threads: checked by tsc, never run.

import { runWorker } from '../../lib/bullmq/index.js';
import { backgroundTasks, defineTask, type ThreadPool } from '../../lib/index.js';
import { type ThreadPoolCloseResult, threadPool, transfer } from '../../lib/threads/index.js';

const resize = defineTask('resize', (width: number, image: Uint8Array) => image.length * width, { thread: true });
const pool: ThreadPool = threadPool({ module: '/srv/app/tasks.js', maxThreads: 2, idleTimeout: 1000 });
threadPool({ module: new URL('file:///srv/app/tasks.js') });
backgroundTasks({ threads: pool });
runWorker({ connection: 'redis://localhost', queueName: 'q', tasks: [resize], threads: pool });
const moved: ArrayBuffer = transfer(new ArrayBuffer(8));
const view: Uint8Array = transfer(new Uint8Array(8));
const closed: Promise<ThreadPoolCloseResult> = pool.close();
const bounded: Promise<{ drained: boolean; pending: number }> = pool.close({ timeout: 5000 });
void [moved, view, closed, bounded];

// @ts-expect-error: module is required
threadPool({ maxThreads: 2 });
// @ts-expect-error: maxThreads is a number
threadPool({ module: '/srv/app/tasks.js', maxThreads: '2' });
// @ts-expect-error: thread is a boolean
defineTask('x', () => {}, { thread: 'yes' });
// @ts-expect-error: threads takes a pool made by threadPool()
backgroundTasks({ threads: {} });
// @ts-expect-error: close() takes { timeout } in ms
pool.close({ timeout: '5s' });
// @ts-expect-error: close() knows no other option
pool.close({ force: true });
// @ts-expect-error: transfer() takes an ArrayBuffer or a view of one
transfer({ length: 8 });
