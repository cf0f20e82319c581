// Kept only for __tests__/reliability/demo.test.ts and __tests__/bullmq/demo.test.ts until they move to __tests__/demo/:
// the child-process helpers now live in __tests__/helpers.ts (import them from there).
export { Child, type Exit, killChildren, freePort, type Message, ROOT, startTaskServer, TASK_SERVER } from '../helpers.js';
