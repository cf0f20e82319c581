// Kept only for __tests__/reliability/demo.test.ts until it moves to __tests__/demo/: the load helpers now live in
// __tests__/helpers.ts (import them from there).
export { byStatus, type Reply, sendAll } from '../helpers.js';
