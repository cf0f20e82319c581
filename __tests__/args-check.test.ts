// Argument checks are iterative, linear and bounded: a deeply nested body is refused with a TypeError, never a stack
// overflow; shared references are walked once; sparse arrays pass; paths name positions, never keys.
import request from 'supertest';
import { checkArgs } from '../lib/args-check.js';
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
    expect(reply.body.message).toMatch(/^addTask\(\): task "store": args\[0\](\.<key 0>)+\.\.\..* is nested deeper than 1000 levels/);
    expect(bg.stats()).toMatchObject({ queued: 0, running: 0, succeeded: 0 });
  });

  it('up to the limit is accepted, and a deep non-JSON value is still named by its path', () => {
    const bg = backgroundTasks({ checkArgs: true });
    const task = defineTask('t', (_value: unknown) => {});
    const app = express();
    app.use(bg);
    const errors: unknown[] = [];
    app.get('/', (_req, res) => {
      for (const arg of [nested(999), { deep: { when: () => 0 } }]) {
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
        expect(errors).toEqual([expect.objectContaining({ message: expect.stringMatching(/args\[0\]\.<key 0>\.<key 0> is a function/) })]);
        expect(bg.stats().succeeded).toBe(1);
      });
  });
});

describe('the walk', () => {
  /** Throws what addTask threw, through a real request, or returns undefined when it accepted the task. */
  async function addTaskThrows(...args: unknown[]): Promise<Error | undefined> {
    const bg = backgroundTasks({ checkArgs: true });
    const app = express();
    app.use(bg);
    let thrown: Error | undefined;
    app.get('/', (_req, res) => {
      try {
        res.locals.background.addTask(function store(..._args: unknown[]) {}, ...args);
      } catch (error) {
        thrown = error as Error;
      }
      res.end();
    });
    await request(app).get('/');
    await bg.drain();
    return thrown;
  }

  it('visits a shared (non-cyclic) child once: 40 levels of children shared twice (2^40 paths) are checked at once', async () => {
    // Walked once per path, this would take days; walked once per object, 40 steps.
    let shared: Record<string, unknown> = { leaf: true };
    for (let level = 0; level < 40; level++) shared = { left: shared, right: shared };
    expect(await addTaskThrows(shared)).toBeUndefined();
    expect(() => checkArgs('t', [shared], 'clone')).not.toThrow();
    // A bad leaf under the shared children is still found, named by its first path.
    let bad: Record<string, unknown> = { fn: () => 0 };
    for (let level = 0; level < 40; level++) bad = { left: bad, right: bad };
    expect((await addTaskThrows(bad))?.message).toMatch(/args\[0\](\.<key 0>)+\.\.\.(.*<key 0>)+ is a function/);
  });

  it('accepts sparse arrays, as JSON and a structured clone do', async () => {
    // biome-ignore lint/suspicious/noSparseArray: the case under test.
    const holes = [1, , 3];
    expect(await addTaskThrows(holes, new Array(2), { list: new Array(1e9) })).toBeUndefined();
    expect(() => checkArgs('t', [holes, new Array(5)], 'clone')).not.toThrow();
    // biome-ignore lint/suspicious/noSparseArray: the case under test.
    expect((await addTaskThrows([, () => 0]))?.message).toMatch(/args\[0\]\[1\] is a function/);
  });

  it('never quotes an object key or a value in its messages: the path names positions', async () => {
    const secret = 'alice.secret@example.com';
    const thrown = await addTaskThrows({ name: 'a', [secret]: { token: Symbol(secret) } });
    expect(thrown).toBeInstanceOf(TypeError);
    expect(thrown?.message).toMatch(/^addTask\(\): task "store": args\[0\]\.<key 1>\.<key 0> is a symbol/);
    expect(thrown?.message).not.toContain('alice');
    expect(thrown?.message).not.toContain('token');
    const inMap = await addTaskThrows(new Map([[secret, () => secret]]));
    expect(inMap?.message).toMatch(/args\[0\]\.<map value 0> is a function/);
    expect(inMap?.message).not.toContain('alice');
  });

  it("refuses a Proxy and an array with extra properties for a thread too, without running the proxy's traps", () => {
    let trapped = 0;
    const proxy = new Proxy(
      {},
      {
        getPrototypeOf: () => {
          trapped++;
          return Object.prototype;
        },
        ownKeys: () => {
          trapped++;
          return [];
        },
      },
    );
    expect(() => checkArgs('t', [proxy], 'clone')).toThrow(/args\[0\] is a Proxy/);
    expect(() => checkArgs('t', [new Proxy([1], {})], 'clone')).toThrow(/args\[0\] is a Proxy/);
    expect(trapped).toBe(0);
    expect(() => checkArgs('t', [Object.assign([1], { extra: 1 })], 'clone')).toThrow(
      /args\[0\] is an array with properties besides its items/,
    );
    // biome-ignore lint/suspicious/noSparseArray: the case under test.
    expect(() => checkArgs('t', [Object.assign([, 2], { extra: 1 })], 'clone')).toThrow(/besides its items/);
    expect(() => checkArgs('t', [Object.assign([1], { [Symbol('s')]: 1 })], 'clone')).toThrow(/an array with symbol keys/);
    const throwing = Object.defineProperty({}, 'secret', {
      enumerable: true,
      get() {
        throw new Error('no');
      },
    });
    expect(() => checkArgs('t', [{ a: 1, b: throwing }], 'queue')).toThrow(TypeError);
    expect(() => checkArgs('t', [{ a: 1, b: throwing }], 'queue')).toThrow(/args\[0\]\.<key 1>\.<key 0> is a getter that throws/);
  });
});
