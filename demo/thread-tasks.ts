// The demo's thread tasks: blocking or CPU-heavy work that runs on a worker thread, never on the event loop.
import { createHash } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { threadId } from 'node:worker_threads';
import { defineTask } from '../lib/index.js';

/** Blocks this thread for `ms`, as a synchronous SDK call or Python's time.sleep() would. */
function blockingSleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * FastAPI's classic example, ported as it is: a *synchronous* write_notification that blocks (FastAPI runs it in
 * its threadpool). Here it runs on a worker thread, so the server stays responsive while it sleeps.
 */
export const writeNotification = defineTask(
  'writeNotification',
  (email: string, message: string, logFile: string | null): void => {
    blockingSleep(Number(process.env.EMAIL_DELAY_MS ?? 5000));
    const line = `notification for ${email}: ${message}`;
    if (logFile) appendFileSync(logFile, `${line}\n`);
    console.log(`${line} (written on thread ${threadId})`);
  },
  { thread: true },
);

/**
 * A CPU-heavy task in pure JavaScript: draws a 3000 x 3000 avatar, box-filters it down to a 128 x 128 thumbnail and
 * fingerprints it. A few hundred ms of computing that would stall every request if it ran on the event loop.
 */
export const makeThumbnail = defineTask(
  'makeThumbnail',
  (user: string): void => {
    const started = performance.now();
    const size = 3000;
    const thumb = 128;
    const seed = [...user].reduce((sum, char) => (sum * 31 + char.charCodeAt(0)) >>> 0, 7);
    const image = new Uint8Array(size * size);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) image[y * size + x] = (Math.sin((x * seed) % 997) * Math.cos((y + seed) % 991) * 127 + 128) & 255;
    }
    const out = new Uint8Array(thumb * thumb);
    const step = size / thumb;
    for (let ty = 0; ty < thumb; ty++) {
      for (let tx = 0; tx < thumb; tx++) {
        let sum = 0;
        let count = 0;
        for (let y = Math.floor(ty * step); y < Math.floor((ty + 1) * step); y++) {
          for (let x = Math.floor(tx * step); x < Math.floor((tx + 1) * step); x++) {
            sum += image[y * size + x] as number;
            count++;
          }
        }
        out[ty * thumb + tx] = sum / count;
      }
    }
    const fingerprint = createHash('sha256').update(out).digest('hex').slice(0, 12);
    console.log(`Thumbnail ${fingerprint} ready in ${Math.round(performance.now() - started)} ms on thread ${threadId}`);
  },
  { thread: true, timeout: 30_000 },
);
