// checkArgs: refuses arguments that are not JSON-safe at addTask, naming the task and the path; off by default.
import request from 'supertest';
import { appWith, settled } from './helpers.js';

describe('checkArgs', () => {
  class Point {
    constructor(
      readonly x: number,
      readonly y: number,
    ) {}
  }
  const cycle: Record<string, unknown> = { a: 1 };
  cycle.self = cycle;
  const refused: Array<[string, unknown[], RegExp]> = [
    ['undefined', ['a', undefined], /args\[1\] is undefined/],
    ['a function', [() => 1], /args\[0\] is a function/],
    ['a BigInt', [10n], /args\[0\] is a BigInt/],
    ['NaN', [{ n: Number.NaN }], /args\[0\]\.n is NaN/],
    ['Infinity', [[1, Number.POSITIVE_INFINITY]], /args\[0\]\[1\] is Infinity/],
    ['a Date', ['x', { when: new Date(0) }], /args\[1\]\.when is a Date instance/],
    ['a Map', [new Map()], /args\[0\] is a Map instance/],
    ['a class instance', [{ 'odd key': new Point(1, 2) }], /args\[0\]\["odd key"\] is a Point instance/],
    ['a cycle', [cycle], /args\[0\]\.self refers back to itself/],
    ['a symbol', [Symbol('s')], /args\[0\] is a symbol/],
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

  it('accepts JSON-safe arguments, shared (non-cyclic) references included', async () => {
    const shared = { id: 1 };
    const received: unknown[] = [];
    const { bg, app } = appWith({ checkArgs: true }, (_req, res) => {
      res.locals.background.addTask(
        (...args: unknown[]) => received.push(...args),
        'a',
        1.5,
        true,
        null,
        [1, { b: 'c' }],
        Object.create(null),
        {
          one: shared,
          two: shared,
        },
      );
      res.end();
    });
    await request(app).get('/');
    await settled(bg);
    expect(received).toHaveLength(7);
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
