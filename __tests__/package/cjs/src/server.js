// A CommonJS consumer: require() the package, serve one real request whose handler adds a task, and check that the
// task ran after the response had finished. Exits 0 and prints the marker line, or exits 1.
const express = require('express');
const { backgroundTasks } = require('express-background-tasks');

const seen = [];
function recordTask(email, res) {
  return Promise.resolve().then(() => {
    seen.push({ finished: res.writableFinished, length: email.length });
  });
}

const background = backgroundTasks();
const app = express();
app.use(background);
app.post('/register', (req, res) => {
  res.locals.background.addTask(recordTask, String(req.query.email), res);
  res.json({ registered: true });
});

const watchdog = setTimeout(() => {
  console.error('consumer: timed out');
  process.exit(1);
}, 15000);
const server = app.listen(0, '127.0.0.1', async () => {
  try {
    const address = server.address();
    const response = await fetch(`http://127.0.0.1:${address.port}/register?email=a@example.com`, { method: 'POST' });
    const body = await response.json();
    const drained = await background.drain();
    const stats = background.stats();
    const ok =
      response.status === 200 &&
      body.registered === true &&
      drained.drained &&
      stats.succeeded === 1 &&
      seen.length === 1 &&
      seen[0].finished === true &&
      seen[0].length === 13;
    if (!ok) throw new Error(`unexpected: ${JSON.stringify({ status: response.status, body, drained, stats, seen })}`);
    console.log('task ran after the response: response finished before the task started');
    clearTimeout(watchdog);
    server.closeAllConnections();
    server.close();
  } catch (error) {
    console.error('consumer failed:', error);
    process.exit(1);
  }
});
