// Scenario 9: the status option's cost per task (CPU) and per kept record (heap), on against off (bench/status-micro.mjs).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { BENCH_DIR, serverSettings } from '../lib/child.mjs';
import { figure } from '../lib/result.mjs';
import { fixed } from '../lib/stats.mjs';

export const id = 'status';
export const title = 'Status records: extra CPU per task and heap per record';

export async function run(ctx) {
  const rounds = Math.max(3, ctx.settings.rounds);
  // One process on the servers' Node, pinned like a server when pinning is available: it serves itself over HTTP.
  const script = path.join(BENCH_DIR, 'status-micro.mjs');
  const args = ['--expose-gc', script, `--rounds=${rounds}`, ...(ctx.quick ? ['--requests=20', '--records=2000'] : [])];
  const output = execFileSync(serverSettings.nodePath, args, {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    maxBuffer: 1 << 20,
  });
  const result = JSON.parse(output);
  ctx.log(`  status: +${result.extraNsPerTask} ns per task, ${result.bytesPerRecord} bytes per record`);
  return {
    id,
    title,
    about:
      `One process serves \`POST /\` to its own keep-alive client; each request adds 500 synchronous tasks, ${result.tasksPerRound.toLocaleString('en')} ` +
      `tasks per round, with \`status\` off and \`status: true\` (10,000 records kept) in ${result.rounds} interleaved rounds. ` +
      'CPU time (client included, the same in both) per task; the extra is the median of the rounds\u2019 differences. Heap: ' +
      `${result.records.toLocaleString('en')} tasks with every record kept, heap after forced GCs, on minus off, per record ` +
      '(a succeeded task with no progress, message or result: each of those adds its own size). Last, one task calls ' +
      '`taskProgress()` a million times in a tight loop: ns per call.',
    table: {
      head: ['status', 'CPU ns per task', 'heap bytes per record'],
      rows: [
        ['off', fixed(result.nsPerTaskOff, 0), '-'],
        ['on (`status: true`)', fixed(result.nsPerTaskOn, 0), String(result.bytesPerRecord)],
        ['extra with status on', fixed(result.extraNsPerTask, 0), '-'],
        ['`taskProgress()` in a tight loop, per call', fixed(result.nsPerProgressCall, 0), '-'],
      ],
    },
    figures: [
      figure('Status: extra CPU per task, on - off', result.extraNsPerTask, { decimals: 0, unit: ' ns', target: 1000, op: '<=' }),
      figure('Status: heap per kept record', result.bytesPerRecord, { decimals: 0, unit: ' bytes', target: 400, op: '<=' }),
    ],
  };
}
