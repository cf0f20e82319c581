// Jest setup: TypeScript through @swc/jest (ts-jest cannot load the native TypeScript 7 compiler).
/**
 * System suites: real Redis clusters and failovers, killed processes, a browser, other test runners. None of them
 * depends on the Express version or Node line under test, and together they take half of a run's time, so the
 * Express 4 run and CI's other Node lines leave them out (TEST_SCOPE=unit); `npm run test:unit` runs them.
 */
const SYSTEM_SUITES = [
  '<rootDir>/__tests__/queue/cluster.test.ts',
  '<rootDir>/__tests__/queue/sentinel.test.ts',
  '<rootDir>/__tests__/queue/crash.test.ts',
  '<rootDir>/__tests__/queue/chaos.test.ts',
  '<rootDir>/__tests__/queue/flow.test.ts',
  '<rootDir>/__tests__/dashboard/browser.test.ts',
  '<rootDir>/__tests__/dashboard/queue-browser.test.ts',
  '<rootDir>/__tests__/kit-examples/frameworks.test.ts',
];

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  // The packed-package checks (slow, they need npm) run only in `npm run test:package`, which overrides this.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/__tests__/package/', ...(process.env.TEST_SCOPE === 'unit' ? SYSTEM_SUITES : [])],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  // Sources import './x.js' as Node ESM resolution wants; jest finds the .ts file behind it.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testTimeout: 30000,
};
