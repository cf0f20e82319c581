// Argument checks are iterative and bounded: a deeply nested body is refused with a TypeError, never a stack overflow.
import request from 'supertest';
import { backgroundTasks, defineTask } from '../lib/index.js';
import { loadExpress } from './helpers.js';

const express = loadExpress();

function nested(depth: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

describe('deeply nested arguments', () => {
  it('a 20,000-deep JSON body is refused at addTask with a TypeError naming the path and the limit', async () => {
    const bg = backgroundTasks({ checkArgs: true });
    const app = express();
    app.use(express.json({ limit: '10mb' }));
    app.use(bg);
    app.post('/', (req, res) => {
      try {
        res.locals.background.addTask(function store(_body: unknown) {}, req.body);
        res.json({ accepted: true });
      } catch (error) {
        res.status(400).json({ name: (error as Error).name, message: (error as Error).message });
      }
    });
    const body = `${'{"a":'.repeat(20_000)}"leaf"${'}'.repeat(20_000)}`;
    const reply = await request(app).post('/').set('content-type', 'application/json').send(body);
    expect(reply.status).toBe(400);
    expect(reply.body.name).toBe('TypeError');
    expect(reply.body.message).toMatch(/^addTask\(\): task "store": args\[0\]\.a\.a\.a.*\.\.\..* is nested deeper than 1000 levels/);
    expect(bg.stats()).toMatchObject({ queued: 0, running: 0, succeeded: 0 });
  });

  it('up to the limit is accepted, and a deep non-JSON value is still named by its path', () => {
    const bg = backgroundTasks({ checkArgs: true });
    const task = defineTask('t', (_value: unknown) => {});
    const app = express();
    app.use(bg);
    const errors: unknown[] = [];
    app.get('/', (_req, res) => {
      for (const arg of [nested(999), { deep: { when: new Date(0) } }]) {
        try {
          res.locals.background.addTask(task, arg);
        } catch (error) {
          errors.push(error);
        }
      }
      res.end();
    });
    return request(app)
      .get('/')
      .then(async () => {
        await bg.drain();
        expect(errors).toEqual([expect.objectContaining({ message: expect.stringMatching(/args\[0\]\.deep\.when is a Date instance/) })]);
        expect(bg.stats().succeeded).toBe(1);
      });
  });
});
