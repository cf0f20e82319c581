// README "Testing your app" with node:test: the same kit, no test framework to install. Run by frameworks.test.ts (`node --import tsx --test`).
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import request from 'supertest';
import { recordTasks, runTask, type TaskRecorder } from '../../lib/testing/index.js';
import { createApp } from './app.js';
import { crm, mailer, sendWelcome, syncCrm } from './tasks.js';

let tasks: TaskRecorder;
beforeEach(() => {
  mailer.sent = [];
  crm.contacts = [];
  tasks = recordTasks();
});
afterEach(() => tasks.restore());

test('signing up adds the welcome email; runAll() sends it', async () => {
  const { app } = createApp();
  await request(app).post('/signup').send({ email: 'ada@example.com' }).expect(201);
  tasks.assertAdded(sendWelcome, 'ada@example.com');
  assert.deepEqual(mailer.sent, []);
  await tasks.runAll();
  assert.deepEqual(mailer.sent, ['ada@example.com']);
});

test('a 5xx skips the tasks', async () => {
  const { app } = createApp();
  await request(app).post('/signup').send({ email: 'bob@down.example' }).expect(503);
  tasks.assertNotAdded('sendEmail');
  assert.deepEqual(
    tasks.added().map((task) => task.state),
    ['skipped', 'skipped'],
  );
});

test('runTask() tries syncCrm again after a failure', async () => {
  crm.failures = 1;
  const outcome = await runTask(syncCrm, { email: 'ada@example.com', plan: 'free' });
  assert.equal(outcome.state, 'succeeded');
  assert.equal(outcome.attempts, 2);
});
