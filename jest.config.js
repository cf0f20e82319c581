// Jest setup: TypeScript through @swc/jest (ts-jest cannot load the native TypeScript 7 compiler).
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/__tests__'],
  testMatch: ['**/*.test.ts'],
  // The packed-package checks (slow, they need npm) run only in `npm run test:package`, which overrides this.
  testPathIgnorePatterns: ['/node_modules/', '<rootDir>/__tests__/package/'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }],
  },
  // Sources import './x.js' as Node ESM resolution wants; jest finds the .ts file behind it.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  moduleFileExtensions: ['ts', 'js', 'json'],
  testTimeout: 30000,
};
