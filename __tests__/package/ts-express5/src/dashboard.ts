// The dashboard subpath through a typed import: authorize() typed with Express's own Request, and the router mounted.
import express, { type Request } from 'express';
import { backgroundTasks } from 'express-background-tasks';
import { type TasksDashboard, tasksDashboard } from 'express-background-tasks/dashboard';

const background = backgroundTasks();
const app = express();
app.use(background);
const dashboard: TasksDashboard = tasksDashboard(background, { authorize: (req: Request) => req.get('x-admin') === 'yes', actions: true });
app.use('/admin/tasks', dashboard);
dashboard.close();
console.log('dashboard subpath: typed and mounted');
