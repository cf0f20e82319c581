// Failure isolation: every kind of failure reaches onError and later tasks still run; stopOnError; the default onError;
// an onError that fails itself.
import request from 'supertest';
import { appWith, collectErrors, settled } from './helpers.js';

describe('failure isolation', () => {
  let unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  beforeEach(() => {
    unhandled = [];
    process.on('unhandledRejection', onUnhandled);
    process.on('uncaughtException', onUnhandled);
  });
  afterEach(() => {
    process.off('unhandledRejection', onUnhandled);
    process.off('uncaughtException', onUnhandled);
  });

  it('reports every kind of failure to onError, and later tasks still run', async () => {
    const { failures, onError } = collectErrors();
    const { bg, app } = appWith({ onError });
    const ran: string[] = [];
    const nullProto = Object.create(null) as object;
    function syncThrow(): void {
      throw new Error('sync boom');
    }
    async function asyncReject(): Promise<void> {
      throw new RangeError('async boom');
    }
    app.post('/register', (_req, res) => {
      const background = res.locals.background;
      background.addTask(syncThrow);
      background.addTask(asyncReject);
      background.addTask(() => Promise.reject('a string'));
      background.addTask(() => {
        throw nullProto;
      });
      background.addTask(function last() {
        ran.push('last');
      });
      res.status(201).json({ ok: true });
    });
    await request(app).post('/register?email=x@example.com').expect(201, { ok: true });
    await settled(bg);
    expect(ran).toEqual(['last']);
    expect(failures.map((f) => f.info.name)).toEqual(['syncThrow', 'asyncReject', 'anonymous', 'anonymous']);
    expect(failures[0]?.info).toEqual({
      name: 'syncThrow',
      method: 'POST',
      url: '/register?email=x@example.com',
      attempts: 1,
      where: 'process',
    });
    expect((failures[1]?.error as Error).message).toBe('async boom');
    expect(failures[2]?.error).toBe('a string');
    expect(failures[3]?.error).toBe(nullProto);
    expect(bg.stats()).toMatchObject({ failed: 4, succeeded: 1, skipped: 0 });
    expect(unhandled).toEqual([]);
  });

  it('stopOnError skips the rest of the list and counts them', async () => {
    const { failures, onError } = collectErrors();
    const { bg, app } = appWith({ onError, stopOnError: true });
    const ran: string[] = [];
    app.get('/', (_req, res) => {
      res.locals.background.addTask(() => ran.push('first'));
      res.locals.background.addTask(function fails() {
        throw new Error('stop here');
      });
      res.locals.background.addTask(() => ran.push('third'));
      res.locals.background.addTask(() => ran.push('fourth'));
      res.end();
    });
    app.get('/other', (_req, res) => {
      res.locals.background.addTask(() => ran.push('other list'));
      res.end();
    });
    await request(app).get('/');
    await request(app).get('/other');
    await settled(bg);
    expect(ran).toEqual(['first', 'other list']);
    expect(failures).toHaveLength(1);
    expect(bg.stats()).toMatchObject({ succeeded: 2, failed: 1, skipped: 2 });
  });

  it('the default onError writes one line naming the task and the error, never the arguments', async () => {
    const lines: string[] = [];
    const spy = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      lines.push(args.join(' '));
    });
    try {
      const { bg, app } = appWith();
      app.post('/register', (req, res) => {
        res.locals.background.addTask(
          async function sendEmail(_email: string, _token: string) {
            throw new Error('SMTP is down');
          },
          String(req.query.email),
          'secret-token-123',
        );
        res.end();
      });
      await request(app).post('/register?email=alice@example.com');
      await settled(bg);
    } finally {
      spy.mockRestore();
    }
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('"sendEmail"');
    expect(lines[0]).toContain('SMTP is down');
    expect(lines[0]).toContain('POST /register');
    expect(lines[0]).not.toContain('alice@example.com');
    expect(lines[0]).not.toContain('secret-token-123');
    // The first line as before; the stack follows on indented lines (__tests__/error-reports.test.ts).
    expect(lines[0]?.split('\n')[0]).toMatch(/failed: Error: SMTP is down$/);
  });

  it('an onError that throws or rejects is reported, and the process carries on', async () => {
    const lines: string[] = [];
    const spy = jest.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
      lines.push(args.join(' '));
    });
    let calls = 0;
    try {
      const { bg, app } = appWith({
        onError: (() => {
          calls++;
          if (calls === 1) throw new Error('handler broke');
          return Promise.reject(new Error('handler rejected'));
        }) as () => void,
      });
      app.get('/', (_req, res) => {
        res.locals.background.addTask(function first() {
          throw new Error('one');
        });
        res.locals.background.addTask(function second() {
          throw new Error('two');
        });
        res.end();
      });
      await request(app).get('/');
      await settled(bg);
      await new Promise((resolve) => setImmediate(resolve)); // let the rejected handler's catch run
      expect(bg.stats().failed).toBe(2);
    } finally {
      spy.mockRestore();
    }
    expect(calls).toBe(2);
    expect(lines.some((l) => l.includes('onError threw') && l.includes('"first"') && l.includes('handler broke'))).toBe(true);
    expect(lines.some((l) => l.includes('onError threw') && l.includes('"second"') && l.includes('handler rejected'))).toBe(true);
    expect(unhandled).toEqual([]);
  });
});
