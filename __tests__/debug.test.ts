// Debug output (DEBUG=express-background-tasks): lists and tasks are logged, never their arguments.
import request from 'supertest';
import { appWith, captureDebug, settled } from './helpers.js';

describe('debug output', () => {
  it('logs list start and end and each task name, outcome and duration; never arguments', async () => {
    const { lines, restore } = captureDebug();
    try {
      const { bg, app } = appWith({ onError: () => undefined });
      app.post('/register', (req, res) => {
        res.locals.background.addTask(function sendEmail(_email: string) {}, String(req.query.email));
        res.locals.background.addTask(function audit(_token: string) {
          throw new Error('nope');
        }, 'secret-token-456');
        res.end();
      });
      await request(app).post('/register?email=bob@example.com');
      await settled(bg);
    } finally {
      restore();
    }
    const text = lines.join('\n');
    expect(text).toMatch(/list start POST \/register: 2 tasks/);
    expect(text).toMatch(/task sendEmail succeeded in [\d.]+ms/);
    expect(text).toMatch(/task audit failed in [\d.]+ms/);
    expect(text).toMatch(/list end POST \/register/);
    expect(text).not.toContain('bob@example.com');
    expect(text).not.toContain('secret-token-456');
  });
});
