// Type tests (tsc only, not jest): the testing entry's functions and what they return.
import { defineTask, type TaskState } from '../../lib/index.js';
import {
  type RecordedState,
  type RecordedTask,
  type RunAllOptions,
  recordTasks,
  runTask,
  type SettledOptions,
  type TaskFilter,
  type TaskRecorder,
  type TaskResult,
  TasksNotSettledError,
  type TaskWatcher,
  TestScopeError,
  type WatchedTask,
  watchTasks,
} from '../../lib/testing/index.js';

const total = defineTask('total', (lines: number[]) => lines.reduce((sum, line) => sum + line, 0));
const fetchUser = defineTask('fetchUser', async (id: string) => ({ id }));

const recorder: TaskRecorder = recordTasks();
const all: RecordedTask[] = recorder.added();
const some: RecordedTask[] = recorder.added(total);
const byName: RecordedTask[] = recorder.added('total');
const byDefinition: RecordedTask[] = recorder.added(total.taskDefinition);
const state: RecordedState = all[0]!.state;
const args: readonly unknown[] = all[0]!.args;
const id: string = all[0]!.id;
recorder.assertAdded(total, [1, 2]);
recorder.assertNotAdded('fetchUser');
const options: RunAllOptions = { timeout: 20, backoff: false };
const ran: Promise<RecordedTask[]> = recorder.runAll(options);
recorder.clear();
recorder[Symbol.dispose]();
recorder.restore();

const watcher: TaskWatcher = watchTasks();
const watched: WatchedTask[] = watcher.added(fetchUser);
const live: TaskState = watched[0]!.state;
const stored: boolean = watched[0]!.stored;
const waiting: Promise<WatchedTask[]> = watcher.settled({ timeout: 100 } satisfies SettledOptions);
watcher.restore();

const sum: Promise<TaskResult<number>> = runTask(total, [1, 2, 3]);
const user: Promise<TaskResult<{ id: string }>> = runTask(fetchUser, 'u1');
const filter: TaskFilter = 'total';
const pending: readonly unknown[] = new TasksNotSettledError('x', []).pending;
const code: 'ERR_BACKGROUND_TASKS_TEST_SCOPE' = new TestScopeError('x').code;

// @ts-expect-error: runTask() checks the arguments against the task's parameters
runTask(total, 'not lines');
// @ts-expect-error: runTask() takes the task's arguments, all of them
runTask(fetchUser);
// @ts-expect-error: runTask() takes a defineTask() task, not a plain function
runTask((a: number) => a, 1);
// @ts-expect-error: a result is the task's return type
const wrong: Promise<TaskResult<string>> = runTask(total, [1]);
// @ts-expect-error: backoff is a boolean
recorder.runAll({ backoff: 'none' });
// @ts-expect-error: unknown option
recorder.runAll({ retries: 0 });
// @ts-expect-error: settled()'s timeout is a number
watcher.settled({ timeout: '5s' });
// @ts-expect-error: a filter is a function, a definition or a name
recorder.added(42);
// @ts-expect-error: recorded tasks are read-only views
all[0]!.state = 'succeeded';
// @ts-expect-error: a watched task has no arguments (status records never hold them)
void watched[0]!.args;
// @ts-expect-error: 'recorded' is not a live state
const notLive: TaskState = 'recorded';

void [some, byName, byDefinition, state, args, id, ran, live, stored, waiting, sum, user, filter, pending, code, wrong, notLive];
