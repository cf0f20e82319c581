// One autocannon run against a server child: responses counted here, server CPU read around it, failures thrown.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const autocannon = require('autocannon');

/**
 * Runs autocannon for `seconds` (or `amount` requests) and returns what it measured:
 * responses, wall seconds, req/s, the server's CPU seconds and CPU microseconds per request,
 * and, with `latencies: true`, every response time in ms (autocannon's own histogram keeps whole ms only).
 */
export async function load(server, { path = '/', method = 'GET', connections = 50, seconds, amount, latencies = false }) {
  const samples = latencies ? [] : undefined;
  let responses = 0;
  const cpuBefore = server.cpuSeconds();
  const t0 = process.hrtime.bigint();
  const result = await new Promise((resolve, reject) => {
    // A short sample interval lets a timed run stop within 0.1 s of its duration rather than on the next whole second.
    const options = { url: server.url + path, method, connections, pipelining: 1, timeout: 10, sampleInt: 100 };
    if (amount !== undefined) options.amount = amount;
    else options.duration = seconds;
    const instance = autocannon(options, (error, value) => (error ? reject(error) : resolve(value)));
    instance.on('response', (_client, _status, _bytes, ms) => {
      responses++;
      samples?.push(ms);
    });
  });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = server.cpuSeconds() - cpuBefore;
  if (result.errors > 0 || result.non2xx > 0) {
    throw new Error(`${method} ${path}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx responses`);
  }
  if (responses === 0) {
    throw new Error(
      `${method} ${path}: no response at all in ${wall.toFixed(2)} s (${result.requests?.sent} requests sent; ` +
        `server process ${server.state()}, ${cpu.toFixed(2)} s CPU)`,
    );
  }
  return { responses, wall, rps: responses / wall, cpu, cpuPerRequestUs: (cpu / responses) * 1e6, latencies: samples };
}
