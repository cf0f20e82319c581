// Starting benchmark servers as child processes pinned to CPU 0, talking to them over IPC, reading their CPU time.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));
const SERVER = fileURLToPath(new URL('../server.mjs', import.meta.url));

function commandExists(name) {
  try {
    execFileSync(name, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function clockTicks() {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
}

/** Whether servers go on CPU 0 and the load generator (this process) on CPU 1. */
export const pinning = { enabled: process.platform === 'linux' && commandExists('taskset') };
const TICKS_PER_SECOND = clockTicks();

/** Pins every thread of this process (autocannon runs here) to CPU 1; returns false when it cannot. */
export function pinLoadGenerator() {
  if (!pinning.enabled) return false;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', '1', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    pinning.enabled = false;
    return false;
  }
}

/** User plus system CPU seconds used so far by a process (all its threads), from /proc/PID/stat. */
export function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name may hold spaces: fields are counted from the last ')'. utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

function processState(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return 'unknown';
  }
}

const live = new Set();

/** Settings that apply to every server started: set once by the runner (--profile, --node). */
export const serverSettings = { profileDir: undefined, nodePath: process.execPath };

/**
 * Starts a server child (bench/server.mjs by default, or another script that sends { ready, port } over IPC
 * and answers { id, cmd } messages with { id, result } or { id, error }). `pin: false` leaves it free to use every
 * core (a server whose worker threads are what is being measured).
 */
export async function startServer(config, { script = SERVER, env = {}, pin = true } = {}) {
  const nodeArgs = ['--expose-gc'];
  if (serverSettings.profileDir !== undefined) {
    mkdirSync(serverSettings.profileDir, { recursive: true });
    nodeArgs.push('--cpu-prof', `--cpu-prof-dir=${serverSettings.profileDir}`);
  }
  const argv = [...nodeArgs, script, JSON.stringify(config)];
  const node = serverSettings.nodePath;
  const [command, args] = pinning.enabled && pin ? ['taskset', ['-c', '0', node, ...argv]] : [node, argv];
  const child = spawn(command, args, {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    env: { ...process.env, NODE_ENV: 'production', ...env },
  });
  live.add(child);
  const pending = new Map();
  let nextId = 0;
  let exited = false;
  const exit = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      exited = true;
      live.delete(child);
      for (const { reject } of pending.values()) reject(new Error(`bench server exited (${signal ?? code}) while answering`));
      resolve({ code, signal });
    });
  });
  const port = await new Promise((resolve, reject) => {
    child.once('error', reject);
    child.on('message', (message) => {
      if (message.ready) resolve(message.port);
      const waiter = pending.get(message.id);
      if (waiter === undefined) return;
      pending.delete(message.id);
      if (message.error !== undefined) waiter.reject(new Error(`bench server: ${message.error}`));
      else waiter.resolve(message.result);
    });
    exit.then(({ code, signal }) => reject(new Error(`bench server exited (${signal ?? code}) before listening`)));
  });
  const server = {
    pid: child.pid,
    url: `http://127.0.0.1:${port}`,
    config,
    /** Sends a command to the child and resolves with its answer. */
    request(cmd) {
      if (exited) return Promise.reject(new Error(`bench server already exited; cannot ${cmd}`));
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        child.send({ id, cmd });
      });
    },
    cpuSeconds: () => cpuSeconds(child.pid),
    /** The process state letter from /proc (R running, S sleeping, T stopped, Z zombie), for diagnostics. */
    state: () => (exited ? 'exited' : processState(child.pid)),
    /** Asks the child to exit (so that a CPU profile is written), and kills it if it does not. */
    async stop() {
      if (exited) return;
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await server.request('exit').catch(() => {});
      await exit;
      clearTimeout(timer);
    },
  };
  return server;
}

/** Kills the servers still running (after a crash), each by its own pid. */
export function killAll() {
  for (const child of live) child.kill('SIGKILL');
}
