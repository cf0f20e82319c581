// Graceful shutdown of a real server process: SIGTERM drains the background tasks (all of them, or until a deadline).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Child, killChildren, startTaskServer } from './child.js';
import { byStatus, sendAll } from './load.js';

const TASKS = 200;
const ids = Array.from({ length: TASKS }, (_, i) => `task-${i}`);

let dir: string;
let outFile: string;

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'ebt-shutdown-'));
  outFile = path.join(dir, 'lines.txt');
});

afterEach(async () => {
  await killChildren();
  rmSync(dir, { recursive: true, force: true });
});

function linesWritten(): string[] {
  let text: string;
  try {
    text = readFileSync(outFile, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter((line) => line !== '');
}

async function loadAndStop(child: Child, port: number) {
  const replies = await sendAll(
    port,
    ids.map((id) => `/line?id=${id}`),
  );
  expect(byStatus(replies)).toEqual({ 200: TASKS });
  const report = child.message('drained');
  const exit = await child.stop('SIGTERM');
  return { exit, report: await report };
}

it('on SIGTERM, exits 0 only after all 200 tasks (about 200 ms each) have written their line', async () => {
  // HOLD: every task waits for the SIGTERM before its 200 ms start, so all 200 are pending when the shutdown begins.
  const { child, port } = await startTaskServer({ OUT_FILE: outFile, TASK_MS: '200', HOLD: '1' });
  const { exit, report } = await loadAndStop(child, port);

  expect(exit).toEqual({ code: 0, signal: null });
  const atSignal = report.atSignal as { queued: number; running: number };
  expect(atSignal.queued + atSignal.running).toBe(TASKS);
  expect(report).toMatchObject({ drained: true, pending: 0, stats: { queued: 0, running: 0, succeeded: TASKS, failed: 0 } });
  const lines = linesWritten();
  expect(lines).toHaveLength(TASKS);
  expect(new Set(lines)).toEqual(new Set(ids));
  expect(new Set(report.finished as string[])).toEqual(new Set(ids));
});

it('with a drain deadline shorter than the tasks, reports what it abandoned, and every task reported finished is in the file', async () => {
  // concurrency 20 and 200 ms tasks against a 300 ms deadline: the first 20 finish, the rest are still running
  // (aborted through their signal) or queued. Only the consistency of the report with the file is asserted.
  const { child, port } = await startTaskServer({
    OUT_FILE: outFile,
    TASK_MS: '200',
    HOLD: '1',
    CONCURRENCY: '20',
    DRAIN_TIMEOUT_MS: '300',
  });
  const { exit, report } = await loadAndStop(child, port);

  expect(exit).toEqual({ code: 0, signal: null });
  const finished = report.finished as string[];
  const abandoned = report.pending as number;
  expect(report.drained).toBe(false);
  expect(finished.length).toBeGreaterThan(0);
  expect(abandoned).toBeGreaterThan(0);
  // Every accepted task either finished or was reported abandoned.
  expect(finished.length + abandoned).toBe(TASKS);
  // Every task reported finished has its line, and no abandoned task wrote one.
  const lines = linesWritten();
  expect(lines.slice().sort()).toEqual(finished.slice().sort());
  expect(new Set(finished).size).toBe(finished.length);
});
