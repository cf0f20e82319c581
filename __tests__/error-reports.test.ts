// Error reports: the default onError line with the error's stack below it, TaskInfo.where, and captureCallSite.
import { readFileSync } from 'node:fs';
import request from 'supertest';
import { backgroundTasks, type TaskInfo } from '../lib/index.js';
import { appWith, collectErrors, settled } from './helpers.js';

const SECRET = 'secret-token-123';

/** The 1-based line of this file that holds `marker`. */
function lineOf(marker: string): number {
  const lines = readFileSync(__filename, 'utf8').split('\n');
  const index = lines.findIndex((line) => line.includes(marker) && !line.includes('lineOf('));
  if (index === -1) throw new Error(`marker ${marker} not found`);
  return index + 1;
}

function captureStderr(): { lines: string[]; restore(): void } {
  const lines: string[] = [];
  const spy = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
    lines.push(args.join(' '));
  });
  return { lines, restore: () => spy.mockRestore() };
}

describe('the default error line', () => {
  it('keeps its first line and adds the stack, indented, never the arguments', async () => {
    const stderr = captureStderr();
    try {
      const { app, bg } = appWith(undefined, (req, res) => {
        res.locals.background.addTask(
          async function sendEmail(_email: string, _token: string) {
            throw new Error('SMTP is down');
          },
          String(req.query.email),
          SECRET,
        );
        res.end();
      });
      await request(app).post('/?email=alice@example.com').expect(200);
      await settled(bg);
    } finally {
      stderr.restore();
    }
    expect(stderr.lines).toHaveLength(1);
    const [first, ...stack] = (stderr.lines[0] as string).split('\n');
    expect(first).toBe('express-background-tasks: task "sendEmail" (POST /) failed: Error: SMTP is down');
    expect(stack.length).toBeGreaterThan(0);
    for (const line of stack) expect(line).toMatch(/^ {4}at /);
    expect(stack[0]).toContain('error-reports.test.ts');
    expect(stderr.lines[0]).not.toContain('alice@example.com');
    expect(stderr.lines[0]).not.toContain(SECRET);
  });

  /** The stderr lines the default onError writes for one task that throws `thrown()`, named `name`. */
  async function reportOf(thrown: () => unknown, name = 'hostile'): Promise<string[]> {
    const stderr = captureStderr();
    try {
      const { app, bg } = appWith(undefined, (_req, res) => {
        const task = () => {
          throw thrown();
        };
        Object.defineProperty(task, 'name', { value: name });
        res.locals.background.addTask(task);
        res.end();
      });
      await request(app).post('/').expect(200);
      await settled(bg);
      expect(bg.stats()).toMatchObject({ failed: 1 });
    } finally {
      stderr.restore();
    }
    return stderr.lines;
  }

  it('never throws: an Error whose message getter throws, a function as code, a throwing name', async () => {
    const lines = await reportOf(() => {
      const error = new Error('hidden');
      Object.defineProperty(error, 'message', {
        get() {
          throw new Error('getter says no');
        },
      });
      Object.defineProperty(error, 'code', { value: () => 'code' });
      Object.defineProperty(error, 'name', {
        get() {
          throw new Error('name says no');
        },
      });
      return error;
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^express-background-tasks: task "hostile" \(POST \/\) failed: Error: \(its message cannot be read\)/);
  });

  it("prints the cause chain, bounded, as Node's inspector does", async () => {
    const lines = await reportOf(() => {
      const reason = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:443'), { name: 'Error' });
      return new TypeError('fetch failed', { cause: reason });
    });
    expect(lines[0]).toMatch(/^express-background-tasks: task "hostile" \(POST \/\) failed: TypeError: fetch failed\n/);
    expect(lines[0]).toMatch(/\n {4}\[cause\] Error: connect ECONNREFUSED 127\.0\.0\.1:443$/);

    const circular = await reportOf(() => {
      const a = new Error('a');
      const b = new Error('b', { cause: a });
      a.cause = b;
      return a;
    });
    expect(circular[0]).toMatch(/\[cause\] Error: b\n {4}\[cause\] \(circular\)$/);

    const deep = await reportOf(() => {
      let error = new Error('level 0');
      for (let i = 1; i <= 50; i++) error = new Error(`level ${i}`, { cause: error });
      return error;
    });
    expect(deep[0]?.match(/\[cause\]/g)).toHaveLength(6);
    expect(deep[0]).toMatch(/\[cause\] \.\.\. \(more causes not shown\)$/);
    expect(deep[0]).toContain('[cause] Error: level 45\n');
    expect(deep[0]).not.toContain('level 44');
  });

  it('prints names and messages escaped: a newline or an ANSI code cannot forge a log line', async () => {
    const lines = await reportOf(
      () => new Error('bad\nexpress-background-tasks: forged\u001b[31m'),
      'evil\ntask "x" (GET /) failed: \u001b[2J',
    );
    expect(lines).toHaveLength(1);
    const [first] = (lines[0] as string).split('\n');
    expect(first).toBe(
      'express-background-tasks: task "evil\\ntask "x" (GET /) failed: \\u001b[2J" (POST /) failed: Error: bad express-background-tasks: forged\\u001b[31m',
    );
    expect(lines[0]).not.toContain('\u001b');
  });

  it('a thrown non-Error has no stack: one line, as before', async () => {
    const stderr = captureStderr();
    try {
      const { app, bg } = appWith(undefined, (_req, res) => {
        res.locals.background.addTask(function throwsString() {
          throw 'plain string';
        });
        res.end();
      });
      await request(app).post('/').expect(200);
      await settled(bg);
    } finally {
      stderr.restore();
    }
    expect(stderr.lines).toEqual(['express-background-tasks: task "throwsString" (POST /) failed: string thrown: \'plain string\'']);
  });
});

describe('TaskInfo.where', () => {
  it("is 'process' for a task run here and for a waitUntil promise", async () => {
    const { onError, failures } = collectErrors();
    const { app, bg } = appWith({ onError }, (_req, res) => {
      res.locals.background.addTask(function fails() {
        throw new Error('no');
      });
      res.locals.background.waitUntil(Promise.reject(new Error('also no')));
      res.end();
    });
    await request(app).post('/').expect(200);
    await settled(bg);
    expect(failures.map((f) => [f.info.name, f.info.where]).sort()).toEqual([
      ['fails', 'process'],
      ['waitUntil', 'process'],
    ]);
  });
});

describe('captureCallSite', () => {
  it("appends the addTask call site to the failed task's stack: it points at the route's addTask line", async () => {
    const { onError, failures } = collectErrors();
    const shared = new Error('shared failure');
    const { app, bg } = appWith({ onError, captureCallSite: true }, (_req, res) => {
      // CALL-SITE-MARKER: the addTask below
      res.locals.background.addTask(async function sendEmail() {
        throw shared;
      });
      res.locals.background.addTask(function again() {
        throw shared;
      });
      res.end();
    });
    await request(app).post('/').expect(200);
    await settled(bg);
    expect(failures).toHaveLength(2);
    const stack = (failures[0]?.error as Error).stack as string;
    const lines = stack.split('\n');
    const header = lines.indexOf('    --- addTask() call site ---');
    expect(header).toBeGreaterThan(0);
    // The first frame below the header is the route handler's addTask call, in this file.
    expect(lines[header + 1]).toMatch(new RegExp(`error-reports\\.test\\.ts:${lineOf('CALL-SITE-MARKER') + 1}:\\d+\\)?$`));
    // Appended once, even though two tasks reported the same error object.
    expect(stack.split('--- addTask() call site ---')).toHaveLength(2);
  });

  it('shows in the default line too; off by default', async () => {
    const stderr = captureStderr();
    const infos: TaskInfo[] = [];
    try {
      for (const captureCallSite of [true, false]) {
        const { app, bg } = appWith({ captureCallSite }, (_req, res) => {
          res.locals.background.addTask(function fails() {
            throw new Error('boom');
          });
          res.end();
        });
        await request(app).post('/').expect(200);
        await settled(bg);
      }
      const { app, bg } = appWith({ onError: (_error, info) => infos.push(info) }, (_req, res) => {
        res.locals.background.addTask(function fails() {
          throw new Error('boom');
        });
        res.end();
      });
      await request(app).post('/').expect(200);
      await settled(bg);
    } finally {
      stderr.restore();
    }
    expect(stderr.lines).toHaveLength(2);
    expect(stderr.lines[0]).toContain('\n    --- addTask() call site ---\n    at ');
    expect(stderr.lines[1]).not.toContain('addTask() call site');
    expect(Object.keys(infos[0] ?? {})).not.toContain('callSite');
  });

  it('must be a boolean', () => {
    expect(() => backgroundTasks({ captureCallSite: 'yes' as never })).toThrow(
      /backgroundTasks\(\): option "captureCallSite" must be true or false; received the string "yes"/,
    );
  });
});
