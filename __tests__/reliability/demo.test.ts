// The demo server as a real process: POST /register sends its emails after the response, and a signal shuts it down gracefully.
import path from 'node:path';
import { Child, freePort, killChildren, ROOT } from './child.js';
import { byStatus, sendAll } from './load.js';

const DEMO = path.join(ROOT, 'demo/server.ts');
const emails = ['ada@example.com', 'grace@example.com', 'edsger@example.com'];
const SHUTDOWN = /^Shutdown: (\d+) tasks finished while draining, (\d+) abandoned$/;

afterEach(killChildren);

async function startDemo(env: Record<string, string>): Promise<{ child: Child; port: number }> {
  // The demo has no PORT=0 (it prints the port it was given), so pick a port that was free a moment ago.
  const port = await freePort();
  const child = new Child(DEMO, { PORT: String(port), ...env });
  await child.line((line) => line.startsWith('Demo listening on '));
  return { child, port };
}

async function register(port: number): Promise<void> {
  const replies = await sendAll(
    port,
    emails.map((email) => `/register?email=${encodeURIComponent(email)}`),
  );
  expect(byStatus(replies)).toEqual({ 200: emails.length });
}

it('on SIGTERM, exits 0 after every "Email sent to" line, then reports the tasks it finished and abandoned', async () => {
  const { child, port } = await startDemo({ EMAIL_DELAY_MS: '300' });
  await register(port);
  expect(await child.stop('SIGTERM')).toEqual({ code: 0, signal: null });

  const lines = child.lines;
  const sent = lines.filter((line) => line.startsWith('Email sent to '));
  expect(sent.map((line) => line.slice('Email sent to '.length)).sort()).toEqual(emails.slice().sort());
  const signalAt = lines.findIndex((line) => line.startsWith('SIGTERM: no new connections'));
  expect(signalAt).toBeGreaterThan(-1);
  // The report is the last line, and its count matches the emails the log shows being sent after the signal.
  const report = SHUTDOWN.exec(lines.at(-1) ?? '');
  expect(report).not.toBeNull();
  const sentWhileDraining = lines.slice(signalAt).filter((line) => line.startsWith('Email sent to ')).length;
  expect({ finished: Number(report![1]), abandoned: Number(report![2]) }).toEqual({ finished: sentWhileDraining, abandoned: 0 });
});

it('on SIGINT, with emails slower than the drain deadline, exits 0 reporting them abandoned', async () => {
  const { child, port } = await startDemo({ EMAIL_DELAY_MS: '600000', DRAIN_TIMEOUT_MS: '100' });
  await register(port);
  expect(await child.stop('SIGINT')).toEqual({ code: 0, signal: null });

  expect(child.lines.filter((line) => line.startsWith('Email sent to '))).toEqual([]);
  expect(child.lines).toContain('SIGINT: no new connections; draining background tasks (deadline 100 ms)');
  expect(child.lines.at(-1)).toBe(`Shutdown: 0 tasks finished while draining, ${emails.length} abandoned`);
});
