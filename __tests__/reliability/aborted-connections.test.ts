// Clients that vanish mid-request, over raw TCP against a real server process: the task still runs.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Child, killChildren, startTaskServer } from './child.js';
import { sendAll } from './load.js';

let dir: string;
let outFile: string;
let child: Child;
let port: number;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'ebt-aborted-'));
  outFile = path.join(dir, 'lines.txt');
  ({ child, port } = await startTaskServer({ OUT_FILE: outFile, TASK_EVENTS: '1' }));
});

afterAll(async () => {
  await killChildren();
  rmSync(dir, { recursive: true, force: true });
});

/** Waits until every task added so far has settled, and returns the ids of the tasks that ran to the end. */
async function finishedTasks(): Promise<string[]> {
  const [reply] = await sendAll(port, ['/settled'], { method: 'GET' });
  expect(reply?.status).toBe(200);
  return (JSON.parse(reply!.body) as { finished: string[] }).finished;
}

async function requestOverTcp(target: string): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n`);
  return socket;
}

const closers: Array<[string, (socket: Socket) => void]> = [
  ['resets the connection (RST)', (socket) => socket.resetAndDestroy()],
  ['closes the connection (FIN)', (socket) => socket.destroy()],
];

describe.each(closers)('a client that %s', (how, close) => {
  const tag = how.includes('RST') ? 'rst' : 'fin';

  it('after the response has started but before it ends: the task still runs', async () => {
    const id = `partial-${tag}`;
    const socket = await requestOverTcp(`/partial?id=${id}`);
    // The handler adds the task before it writes, so the first bytes prove the task is in the list.
    const [chunk] = (await once(socket, 'data')) as [Buffer];
    expect(chunk.toString('latin1')).toMatch(/^HTTP\/1\.1 200/);
    close(socket);
    expect(await finishedTasks()).toContain(id);
    expect(readFileSync(outFile, 'utf8').split('\n')).toContain(id);
  });

  it('before the response has started: the task still runs', async () => {
    const id = `stall-${tag}`;
    const socket = await requestOverTcp(`/stall?id=${id}`);
    await child.message('added', (message) => message.id === id);
    close(socket);
    expect(await finishedTasks()).toContain(id);
    expect(readFileSync(outFile, 'utf8').split('\n')).toContain(id);
  });
});

it('afterwards, SIGTERM drains to exit 0 with all four tasks counted as succeeded', async () => {
  const report = child.message('drained');
  expect(await child.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  expect(await report).toMatchObject({ drained: true, pending: 0, stats: { succeeded: 4, failed: 0, skipped: 0 } });
});
