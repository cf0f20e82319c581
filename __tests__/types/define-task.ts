// Type tests (tsc only, not jest): defineTask() keeps the wrapped function's types and its options are checked.
import { type Backoff, type DefinedTask, defineTask, type TaskDefinition, type TaskOptions } from '../../lib/index.js';

const add = defineTask('add', (a: number, b: number) => a + b);
const sum: number = add(1, 2);
const typed: DefinedTask<[number, number], number> = add;
const name: string = add.taskName;
const definition: TaskDefinition = add.taskDefinition;
const retries: number = definition.retries;
const backoff: Backoff | undefined = definition.backoff;
const timeout: number | undefined = definition.timeout;

const fetchUser = defineTask('fetch-user', async (id: string) => ({ id }), {
  retries: 3,
  backoff: { type: 'exponential', delay: 1000 },
  timeout: 5000,
});
const user: Promise<{ id: string }> = fetchUser('u1');
const options: TaskOptions = { retries: 1, backoff: { type: 'fixed', delay: 0 } };
defineTask('noop', () => undefined, options);

// @ts-expect-error: a defined task keeps its parameter types
add('1', 2);
// @ts-expect-error: a defined task keeps its parameter count
add(1);
// @ts-expect-error: a defined task keeps its return type
const wrong: string = add(1, 2);
// @ts-expect-error: taskName is readonly
add.taskName = 'other';
// @ts-expect-error: the definition is readonly
add.taskDefinition.retries = 5;
// @ts-expect-error: options are readonly
options.retries = 2;
// @ts-expect-error: the name is a string
defineTask(42, () => undefined);
// @ts-expect-error: the task is a function
defineTask('not-a-function', 'sendEmail');
// @ts-expect-error: retries is a number
defineTask('t', () => undefined, { retries: '3' });
// @ts-expect-error: backoff.type is 'fixed' or 'exponential'
defineTask('t', () => undefined, { backoff: { type: 'linear', delay: 10 } });
// @ts-expect-error: backoff needs a delay
defineTask('t', () => undefined, { backoff: { type: 'fixed' } });
// @ts-expect-error: timeout is a number of ms
defineTask('t', () => undefined, { timeout: '5s' });
// @ts-expect-error: unknown option
defineTask('t', () => undefined, { attempts: 3 });

void [sum, typed, name, retries, backoff, timeout, user, wrong];
