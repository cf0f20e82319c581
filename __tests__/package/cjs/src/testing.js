// The testing subpath through require(): record what a real request added, then run it.
const express = require('express');
const { backgroundTasks, defineTask } = require('express-background-tasks');
const { recordTasks } = require('express-background-tasks/testing');

const sent = [];
const sendWelcome = defineTask('sendWelcome', (email) => {
  sent.push(email);
});
const app = express();
app.use(backgroundTasks());
app.post('/signup', (req, res) => {
  res.locals.background.addTask(sendWelcome, String(req.query.email));
  res.status(201).end();
});

const tasks = recordTasks();
const server = app.listen(0, '127.0.0.1', async () => {
  try {
    await fetch(`http://127.0.0.1:${server.address().port}/signup?email=a@example.com`, { method: 'POST' });
    tasks.assertAdded(sendWelcome, 'a@example.com');
    if (sent.length !== 0) throw new Error('recorded, yet sent');
    const [outcome] = await tasks.runAll();
    if (outcome.state !== 'succeeded' || sent[0] !== 'a@example.com') throw new Error(`unexpected: ${JSON.stringify(outcome)}`);
    tasks.restore();
    console.log('testing subpath: recorded, then ran');
    server.closeAllConnections();
    server.close();
  } catch (error) {
    console.error('consumer failed:', error);
    process.exit(1);
  }
});
