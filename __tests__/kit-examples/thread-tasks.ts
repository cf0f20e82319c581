// The example app's thread task, in a TypeScript module (README "Testing your app": a thread task under jest).
import { createHash } from 'node:crypto';
import { defineTask } from '../../lib/index.js';

export const thumbnails: string[] = [];

export const makeThumbnail = defineTask(
  'makeThumbnail',
  (user: string, image: Buffer): string => {
    const fingerprint = createHash('sha256').update(image).digest('hex').slice(0, 8);
    thumbnails.push(`${user}:${fingerprint}`);
    return fingerprint;
  },
  { thread: true },
);
