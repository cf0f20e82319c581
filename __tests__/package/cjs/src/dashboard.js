// The dashboard subpath through require(): the page and every asset it links (uPlot's included) are served from the
// installed package, behind authorize(). Prints the marker line, or exits 1.
const express = require('express');
const { backgroundTasks } = require('express-background-tasks');
const { tasksDashboard } = require('express-background-tasks/dashboard');

const background = backgroundTasks();
const dashboard = tasksDashboard(background, { authorize: (req) => req.headers['x-admin'] === 'yes' });
const app = express();
app.use(background);
app.use('/admin/tasks', dashboard);

const watchdog = setTimeout(() => {
  console.error('consumer: timed out');
  process.exit(1);
}, 15000);
const server = app.listen(0, '127.0.0.1', async () => {
  try {
    const base = `http://127.0.0.1:${server.address().port}/admin/tasks`;
    const denied = await fetch(`${base}/`);
    if (denied.status !== 403) throw new Error(`expected 403 without authorization, got ${denied.status}`);
    const page = await fetch(`${base}/`, { headers: { 'x-admin': 'yes' } });
    const html = await page.text();
    const assets = [...html.matchAll(/(?:href|src)="\/admin\/tasks(\/assets\/[^"]+)"/g)].map((match) => match[1]);
    if (assets.length !== 5) throw new Error(`expected 5 assets, found ${assets.length}`);
    for (const asset of assets) {
      const response = await fetch(`${base}${asset}`, { headers: { 'x-admin': 'yes' } });
      const body = await response.text();
      if (response.status !== 200 || body.length === 0) throw new Error(`${asset}: ${response.status}, ${body.length} bytes`);
    }
    console.log(`dashboard subpath: served the page and ${assets.length} assets`);
  } catch (error) {
    console.error(error);
    process.exitCode = 1;
  } finally {
    clearTimeout(watchdog);
    dashboard.close();
    server.close();
  }
});
