// Each entry point loads only what it needs: the main entry never loads bullmq, ioredis or piscina (optional peers).
import { execFileSync } from 'node:child_process';
import { ROOT } from './helpers.js';

/** The packages under node_modules that requiring `entry` loaded, in a fresh process. */
function packagesLoadedBy(entry: string): string[] {
  const script = `
    require(${JSON.stringify(entry)});
    const names = new Set();
    for (const file of Object.keys(require.cache)) {
      const match = /node_modules[\\\\/]((?:@[^\\\\/]+[\\\\/])?[^\\\\/]+)/.exec(file);
      if (match) names.add(match[1].replace(/\\\\/g, '/'));
    }
    process.stdout.write(JSON.stringify([...names].sort()));
  `;
  const out = execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, encoding: 'utf8' });
  return JSON.parse(out) as string[];
}

describe('entry points', () => {
  it('the main entry loads neither bullmq, ioredis, piscina nor OpenTelemetry', () => {
    const loaded = packagesLoadedBy('./lib/index.ts');
    expect(loaded).toEqual(expect.arrayContaining(['debug', 'on-finished']));
    expect(loaded.filter((name) => /^(bullmq|ioredis|piscina|@opentelemetry\/.*)$/.test(name))).toEqual([]);
  });

  it('the threads entry loads piscina, and not bullmq', () => {
    const loaded = packagesLoadedBy('./lib/threads/index.ts');
    expect(loaded).toContain('piscina');
    expect(loaded).not.toContain('bullmq');
  });

  it('the bullmq entry loads bullmq, and not piscina', () => {
    const loaded = packagesLoadedBy('./lib/bullmq/index.ts');
    expect(loaded).toContain('bullmq');
    expect(loaded).not.toContain('piscina');
  });

  it('the testing entry loads no test framework, nor bullmq, piscina or OpenTelemetry', () => {
    const loaded = packagesLoadedBy('./lib/testing/index.ts');
    expect(loaded.filter((name) => /^(jest|@jest\/.*|vitest|@vitest\/.*|bullmq|ioredis|piscina|@opentelemetry\/.*)$/.test(name))).toEqual(
      [],
    );
  });

  it('the dashboard entry loads neither bullmq, ioredis, piscina nor uplot (its file is read and served, never required)', () => {
    const loaded = packagesLoadedBy('./lib/dashboard/index.ts');
    expect(loaded.filter((name) => /^(bullmq|ioredis|piscina|uplot|playwright-core|express)$/.test(name))).toEqual([]);
  });
});
