// HTTP load for the reliability suite: many requests over a keep-alive agent, a bounded number in flight.
import http from 'node:http';

export interface Reply {
  readonly path: string;
  readonly status: number;
  readonly body: string;
}

function send(agent: http.Agent, port: number, method: string, path: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ agent, host: '127.0.0.1', port, method, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ path, status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Sends one request per path, at most `inFlight` at once, and resolves with the replies in the order of `paths`. */
export async function sendAll(port: number, paths: readonly string[], { method = 'POST', inFlight = 50 } = {}): Promise<Reply[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: inFlight });
  const replies: Reply[] = new Array(paths.length);
  let next = 0;
  async function worker(): Promise<void> {
    while (next < paths.length) {
      const index = next++;
      replies[index] = await send(agent, port, method, paths[index]!);
    }
  }
  try {
    await Promise.all(Array.from({ length: Math.min(inFlight, paths.length) }, worker));
  } finally {
    agent.destroy();
  }
  return replies;
}

/** Counts replies by status code. */
export function byStatus(replies: readonly Reply[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const reply of replies) counts[reply.status] = (counts[reply.status] ?? 0) + 1;
  return counts;
}
