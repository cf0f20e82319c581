// checkArgs: refuses, at addTask, arguments a queue could not carry intact, naming the task and the path by position; off by default.
import request from 'supertest';
import { appWith, settled } from './helpers.js';

describe('checkArgs', () => {
  class Point {
    constructor(
      readonly x: number,
      readonly y: number,
    ) {}
  }
  const symbolKeyed = { [Symbol('s')]: 1 };
  const withExtra = Object.assign([1, 2], { label: 'x' });
  const refused: Array<[string, unknown[], RegExp]> = [
    ['a function', [() => 1], /args\[0\] is a function/],
    ['a class instance', [{ 'odd key': new Point(1, 2) }], /args\[0\]\.<key 0> is a Point instance/],
    ['a symbol', [Symbol('s')], /args\[0\] is a symbol/],
    ['an object with symbol keys', ['x', symbolKeyed], /args\[1\] is an object with symbol keys/],
    ['a Proxy', [{ user: new Proxy({}, {}) }], /args\[0\]\.<key 0> is a Proxy/],
    ['an array with extra properties', [withExtra], /args\[0\] is an array with properties besides its items/],
    ['a SharedArrayBuffer', [new SharedArrayBuffer(4)], /args\[0\] is a SharedArrayBuffer/],
  ];

  it.each(refused)('refuses %s at addTask, synchronously, naming the task and the path', async (_what, args, message) => {
    let thrown: unknown;
    function sendEmail(..._args: unknown[]): void {}
    const { bg, app } = appWith({ checkArgs: true }, (_req, res) => {
      try {
        res.locals.background.addTask(sendEmail, ...args);
      } catch (error) {
        thrown = error;
      }
      res.end();
    });
    await request(app).get('/');
    await settled(bg);
    expect(thrown).toBeInstanceOf(TypeError);
    expect((thrown as Error).message).toMatch(/addTask\(\): task "sendEmail": /);
    expect((thrown as Error).message).toMatch(message);
    expect(bg.stats()).toMatchObject({ queued: 0, succeeded: 0 });
  });

  it('accepts what the queue carries: shared references, cycles, Date, Map, Set, BigInt, Buffer, undefined, NaN', async () => {
    const shared = { id: 1 };
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = cycle;
    const received: unknown[] = [];
    const args = [
      'a',
      1.5,
      true,
      null,
      undefined,
      Number.NaN,
      10n,
      [1, { b: 'c' }],
      Object.create(null),
      { one: shared, two: shared },
      cycle,
      new Date(0),
      new Map([['k', new Set([1])]]),
      Buffer.from('avatar'),
      new Float64Array([1.5]),
      new Error('kept'),
    ];
    const { bg, app } = appWith({ checkArgs: true }, (_req, res) => {
      res.locals.background.addTask((...given: unknown[]) => received.push(...given), ...args);
      res.end();
    });
    await request(app).get('/');
    await settled(bg);
    expect(received).toEqual(args);
    expect(bg.stats().succeeded).toBe(1);
  });

  it('is off by default: in process, any argument is passed as given', async () => {
    const when = new Date(0);
    const received: unknown[] = [];
    const { bg, app } = appWith({}, (_req, res) => {
      res.locals.background.addTask((value: Date) => received.push(value), when);
      res.end();
    });
    await request(app).get('/');
    await settled(bg);
    expect(received[0]).toBe(when);
  });
});
