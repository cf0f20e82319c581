// The testing subpath through a typed import: its types resolve and runTask() runs a defined task.
import { defineTask } from 'express-background-tasks';
import { runTask, type TaskResult } from 'express-background-tasks/testing';

const total = defineTask('total', (lines: number[]) => lines.reduce((sum, line) => sum + line, 0));
const outcome: Promise<TaskResult<number>> = runTask(total, [1, 2, 3]);
outcome.then(({ state, result }) => console.log(`testing subpath: runTask ${state} with ${result}`));
