// waitUntil(promise): a promise the response hands over, counted as running, reported if it rejects, awaited by drain().
import request from 'supertest';
import { appWith, collectErrors, deferred } from './helpers.js';

describe('waitUntil', () => {
  it('counts the promise as running, reports a rejection, and drain() waits for it', async () => {
    const { failures, onError } = collectErrors();
    const { bg, app } = appWith({ onError });
    const ok = deferred<string>();
    const bad = deferred<string>();
    app.get('/', (_req, res) => {
      res.locals.background.waitUntil(ok.promise);
      res.locals.background.waitUntil(bad.promise);
      res.end();
    });
    await request(app).get('/');
    expect(bg.stats()).toMatchObject({ running: 2 });
    const drained = bg.drain();
    ok.resolve('fine');
    bad.reject(new Error('audit write failed'));
    expect(await drained).toEqual({ drained: true, pending: 0 });
    expect(bg.stats()).toMatchObject({ running: 0, succeeded: 1, failed: 1 });
    expect(failures).toHaveLength(1);
    expect(failures[0]?.info).toMatchObject({ name: 'waitUntil', method: 'GET', url: '/' });
  });
});
