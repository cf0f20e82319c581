// Errors: each has a stable code, keeps the name users match on, and is the one the package really throws or aborts with.
import request from 'supertest';
import * as bullmqEntry from '../lib/bullmq/index.js';
import {
  BackgroundTasksFullError,
  backgroundTasks,
  CloseDeadlineError,
  DrainDeadlineError,
  defineTask,
  EnqueueError,
  InvalidArgumentError,
  NotInTaskError,
  type TaskInfo,
  TasksNotSettledError,
  TaskTimeoutError,
  TestScopeError,
  taskSignal,
} from '../lib/index.js';
import { loadExpress } from './helpers.js';

const express = loadExpress();

describe('error classes', () => {
  it.each([
    ['InvalidArgumentError', new InvalidArgumentError('x'), 'ERR_BACKGROUND_TASKS_INVALID_ARGUMENT', 'TypeError', TypeError],
    ['BackgroundTasksFullError', new BackgroundTasksFullError(3), 'ERR_BACKGROUND_TASKS_FULL', 'BackgroundTasksFullError', Error],
    ['TaskTimeoutError', new TaskTimeoutError('t', 5), 'ERR_BACKGROUND_TASKS_TIMEOUT', 'TimeoutError', Error],
    ['DrainDeadlineError', new DrainDeadlineError(5), 'ERR_BACKGROUND_TASKS_DRAIN_DEADLINE', 'AbortError', Error],
    ['CloseDeadlineError', new CloseDeadlineError(5), 'ERR_BACKGROUND_TASKS_CLOSE_DEADLINE', 'AbortError', Error],
    ['EnqueueError', new EnqueueError('x'), 'ERR_BACKGROUND_TASKS_ENQUEUE', 'EnqueueError', Error],
    ['NotInTaskError', new NotInTaskError('x'), 'ERR_BACKGROUND_TASKS_NOT_IN_TASK', 'Error', Error],
    ['TasksNotSettledError', new TasksNotSettledError('x', []), 'ERR_BACKGROUND_TASKS_NOT_SETTLED', 'TasksNotSettledError', Error],
    ['TestScopeError', new TestScopeError('x'), 'ERR_BACKGROUND_TASKS_TEST_SCOPE', 'TestScopeError', Error],
  ])('%s has code %s and name %s', (_label, error, code, name, base) => {
    expect(error.code).toBe(code);
    expect(error.name).toBe(name);
    expect(error).toBeInstanceOf(base);
    expect(String(error.stack)).toContain(name);
  });

  it('the bullmq entry exports the same classes as the main entry', () => {
    expect(bullmqEntry.EnqueueError).toBe(EnqueueError);
    expect(bullmqEntry.CloseDeadlineError).toBe(CloseDeadlineError);
  });
});

describe('the errors the package really throws', () => {
  it('bad options and arguments: InvalidArgumentError, a TypeError', () => {
    expect(() => backgroundTasks({ concurrency: 0 })).toThrow(InvalidArgumentError);
    expect(() => defineTask('', () => {})).toThrow(expect.objectContaining({ code: 'ERR_BACKGROUND_TASKS_INVALID_ARGUMENT' }));
    expect(() => backgroundTasks().drain({ timeout: -1 })).toThrow(TypeError);
  });

  it('taskSignal() outside a task: NotInTaskError', () => {
    expect(() => taskSignal()).toThrow(NotInTaskError);
  });

  it('maxQueued reached: BackgroundTasksFullError with its code reaches Express', async () => {
    const bg = backgroundTasks({ maxQueued: 0 });
    const app = express();
    app.use(bg);
    let thrown: unknown;
    app.get('/', (_req, res) => {
      try {
        res.locals.background.addTask(() => {});
      } catch (error) {
        thrown = error;
      }
      res.end();
    });
    await request(app).get('/').expect(200);
    expect(thrown).toBeInstanceOf(BackgroundTasksFullError);
    expect(thrown).toMatchObject({ code: 'ERR_BACKGROUND_TASKS_FULL' });
  });

  it('a timeout: TaskTimeoutError, told apart from a task that throws its own TimeoutError', async () => {
    const failures: Array<{ error: unknown; info: TaskInfo }> = [];
    const bg = backgroundTasks({ timeout: 20, onError: (error, info) => failures.push({ error, info }) });
    const app = express();
    app.use(bg);
    app.get('/', (_req, res) => {
      res.locals.background.addTask(function slow() {
        return new Promise((resolve) => taskSignal().addEventListener('abort', resolve));
      });
      res.locals.background.addTask(async function ownTimeout() {
        const error = new Error('from the task');
        error.name = 'TimeoutError';
        throw error;
      });
      res.end();
    });
    await request(app).get('/');
    await bg.drain();
    expect(failures.map((f) => f.info.name)).toEqual(['slow', 'ownTimeout']);
    expect(failures[0]?.error).toBeInstanceOf(TaskTimeoutError);
    expect(failures[1]?.error).not.toBeInstanceOf(TaskTimeoutError);
    expect(bg.stats()).toMatchObject({ timedOut: 1, failed: 1 });
  });

  it('a drain deadline: the running task is aborted with DrainDeadlineError', async () => {
    const bg = backgroundTasks({ onError: () => {} });
    const app = express();
    app.use(bg);
    let started!: () => void;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    let reason: unknown;
    app.get('/', (_req, res) => {
      res.locals.background.addTask(
        () =>
          new Promise<void>((resolve) => {
            const signal = taskSignal();
            signal.addEventListener('abort', () => {
              reason = signal.reason;
              resolve();
            });
            started();
          }),
      );
      res.end();
    });
    await request(app).get('/');
    await running;
    await expect(bg.drain({ timeout: 10 })).resolves.toEqual({ drained: false, pending: 1 });
    expect(reason).toBeInstanceOf(DrainDeadlineError);
    expect(reason).toMatchObject({ code: 'ERR_BACKGROUND_TASKS_DRAIN_DEADLINE', name: 'AbortError' });
    await bg.drain();
  });
});
