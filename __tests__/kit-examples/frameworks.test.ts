// The README's vitest and node:test examples, each run by its own runner as a child process (the jest example is jest.test.ts, run here directly).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from '../helpers.js';

const run = promisify(execFile);
const HERE = path.relative(ROOT, __dirname);

// Children must not inherit jest's NODE_OPTIONS or npm's idea of the project, nor colour their output (CI=true turns
// vitest's colours on, which would split the summary line read below).
const env = {
  ...Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key) && key !== 'NODE_OPTIONS' && key !== 'FORCE_COLOR'),
  ),
  NO_COLOR: '1',
};

/** The text without ANSI colour codes, whatever a runner decided about colours. */
function plain(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the escape character is what is matched.
  return text.replace(/\u001b\[[0-9;]*m/g, '');
}

async function output(file: string, args: readonly string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(process.execPath, args, { cwd: ROOT, env, maxBuffer: 16 * 1024 * 1024 });
    return plain(`${stdout}\n${stderr}`);
  } catch (error) {
    const { stdout = '', stderr = '' } = error as { stdout?: string; stderr?: string };
    throw new Error(`${file} failed:\n${stdout}\n${stderr}`);
  }
}

test('the vitest example passes under `vitest run`', async () => {
  const out = await output('vitest.spec.ts', [
    path.join(ROOT, 'node_modules/vitest/vitest.mjs'),
    'run',
    '--root',
    HERE,
    'vitest.spec',
    '--reporter=verbose',
  ]);
  expect(out).toMatch(/Tests\s+3 passed \(3\)/);
}, 60_000);

test('the node:test example passes under `node --import tsx --test`', async () => {
  // The tap reporter on every Node line (the default one differs between them).
  const out = await output('node-test.spec.ts', ['--import', 'tsx', '--test', '--test-reporter=tap', path.join(HERE, 'node-test.spec.ts')]);
  expect(out).toContain('# pass 3');
  expect(out).toContain('# fail 0');
}, 60_000);
