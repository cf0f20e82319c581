// The hot path: a response that adds no task costs nothing more than bare Express.
import request from 'supertest';
import { backgroundTasks } from '../lib/index.js';
import { loadExpress } from './helpers.js';

const express = loadExpress();

describe('the hot path', () => {
  it('a response that adds no task gets no listener', async () => {
    const app = express();
    app.use(backgroundTasks());
    const counts: number[] = [];
    app.get('/', (_req, res) => {
      counts.push(res.listenerCount('finish') + res.listenerCount('close'));
      res.end();
    });
    const bare = express();
    bare.get('/', (_req, res) => {
      counts.push(res.listenerCount('finish') + res.listenerCount('close'));
      res.end();
    });
    await request(app).get('/');
    await request(bare).get('/');
    expect(counts[0]).toBe(counts[1]);
  });
});
