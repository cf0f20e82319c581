// Child-process fixture: a BullMQ worker for the status tests' tasks (REDIS_URL, QUEUE_NAME), speaking JSON lines on stdout.
import { runWorker } from '../../lib/bullmq/index.js';
import { broken, flakyOnce, letGo, report, square, stuck } from './status-tasks.js';

const worker = runWorker({
  connection: process.env.REDIS_URL as string,
  queueName: process.env.QUEUE_NAME as string,
  tasks: [report, broken, stuck, square, flakyOnce],
  concurrency: 4,
  onError: () => {}, // the test reads the records
});
void worker.worker.waitUntilReady().then(() => process.stdout.write(`${JSON.stringify({ event: 'ready' })}\n`));
process.on('SIGTERM', () => {
  void worker.close({ timeout: 2000 }).then(() => process.exit(0));
});
// "go" on stdin lets the report task finish; the end of stdin (the test process died) ends the fixture.
let input = '';
process.stdin
  .setEncoding('utf8')
  .on('data', (chunk: string) => {
    input += chunk;
    if (input.includes('go\n')) letGo();
  })
  .on('end', () => process.exit(1));
