// The demo server as a real process, started the way the README says: `npm run demo`. POST /register sends its
// emails after the response; SIGTERM or one Ctrl-C drains and exits 0; a second Ctrl-C exits at once; a busy port
// or a bad setting stops it with one clear line.
import { busyPort, killChildren, npmRun, type Proc, register, startDemo, tsxNode } from './support.js';

const emails = ['ada@example.com', 'grace@example.com', 'edsger@example.com'];
const SHUTDOWN = /^Shutdown: (\d+) tasks finished while draining, (\d+) abandoned$/;
const STACK = /^\s+at /m;

afterEach(killChildren);

async function registerAll(port: number): Promise<void> {
  const replies = await Promise.all(emails.map((email) => register(port, email)));
  expect(replies.map((reply) => reply.status)).toEqual(emails.map(() => 200));
}

function sentTo(demo: Proc, from = 0): string[] {
  return demo.lines
    .slice(from)
    .filter((line) => line.startsWith('Email sent to '))
    .map((line) => line.slice('Email sent to '.length));
}

describe('npm run demo', () => {
  it('on SIGTERM to npm (a process manager, `kill <pid>`), the server drains, reports, and npm exits 0', async () => {
    const { demo, port } = await startDemo({ EMAIL_DELAY_MS: '300' });
    await registerAll(port);
    demo.signal('SIGTERM'); // to npm's pid only: npm passes it on, and `exec` makes the server the process npm started
    expect(await demo.exited).toEqual({ code: 0, signal: null });

    expect(sentTo(demo).sort()).toEqual(emails.slice().sort());
    const signalAt = demo.lines.findIndex((line) => line.startsWith('SIGTERM: no new connections'));
    expect(signalAt).toBeGreaterThan(-1);
    // The report is the last line, and its count matches the emails the log shows being sent after the signal.
    const report = SHUTDOWN.exec(demo.lines.at(-1) ?? '');
    expect(report).not.toBeNull();
    expect({ finished: Number(report![1]), abandoned: Number(report![2]) }).toEqual({
      finished: sentTo(demo, signalAt).length,
      abandoned: 0,
    });
  });

  it('on one Ctrl-C (SIGINT to the process group, which npm also passes on), drains once and exits 0', async () => {
    const { demo, port } = await startDemo({ EMAIL_DELAY_MS: '600000', DRAIN_TIMEOUT_MS: '100' });
    await registerAll(port);
    demo.signalGroup('SIGINT');
    expect(await demo.exited).toEqual({ code: 0, signal: null });

    expect(sentTo(demo)).toEqual([]);
    expect(demo.lines).toContain('SIGINT: no new connections; draining background tasks (deadline 100 ms)');
    expect(demo.lines.filter((line) => line.startsWith('Second Ctrl-C'))).toEqual([]);
    expect(demo.lines.at(-1)).toBe(`Shutdown: 0 tasks finished while draining, ${emails.length} abandoned`);
  });

  it('a second Ctrl-C during the drain exits at once, saying so and how many tasks it abandons', async () => {
    const { demo, port } = await startDemo({ EMAIL_DELAY_MS: '600000', DRAIN_TIMEOUT_MS: '600000' });
    await registerAll(port);
    demo.signalGroup('SIGINT');
    // Printed once the first Ctrl-C (which npm echoes) is over: from then on a SIGINT is a second Ctrl-C.
    await demo.line((line) => line === 'Press Ctrl-C again to exit at once, without waiting');
    demo.signalGroup('SIGINT');
    const exit = await demo.exited;

    expect(exit.code).not.toBe(0);
    expect(demo.lines).toContain(`Second Ctrl-C: exiting now, without waiting; ${emails.length} background tasks abandoned`);
    expect(demo.lines.filter((line) => SHUTDOWN.test(line))).toEqual([]);
    expect(sentTo(demo)).toEqual([]);
  });

  it('on a port already in use, prints one line naming the port and exits non-zero', async () => {
    const busy = await busyPort();
    try {
      const demo = npmRun('demo', { PORT: String(busy.port) });
      const exit = await demo.exited;
      expect(exit.code).not.toBe(0);
      expect(demo.stderr).toContain(`demo: cannot listen on port ${busy.port}: the port is already in use`);
      expect(demo.stderr).not.toMatch(STACK);
      expect(demo.lines.filter((line) => line.startsWith('Demo listening'))).toEqual([]);
    } finally {
      await busy.close();
    }
  });
});

// What the app answers and what it adds is tested in this process with the kit (app.test.ts); here, its settings.
describe('the demo app', () => {
  it.each([
    ['PORT', 'abc'],
    ['EMAIL_DELAY_MS', '-5'],
    ['DRAIN_TIMEOUT_MS', '1.5'],
  ])('refuses %s=%s with one clear line and no stack', async (name, value) => {
    const demo = tsxNode('demo/server.ts', { [name]: value });
    expect(await demo.exited).toEqual({ code: 1, signal: null });
    expect(demo.stderr.trim()).toBe(`demo: ${name} must be a whole number >= 0; got ${JSON.stringify(value)}`);
  });
});
