// Server-Sent Events: starting a stream and writing an event, for the status router and the dashboard alike.
import type { ServerResponse } from 'node:http';

/** Answers 200 with the headers of an event stream, sent at once, so the client knows the stream is open. */
export function startEventStream(res: ServerResponse): void {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-store, no-transform',
    Connection: 'keep-alive',
    // nginx: pass each event on as it comes, rather than buffer the stream.
    'X-Accel-Buffering': 'no',
    'X-Content-Type-Options': 'nosniff',
  });
  res.flushHeaders();
}

/** One event: its name and its data on one line (JSON has no raw newlines), optionally the client's reconnect delay. */
export function sseEvent(event: string, data: string, retryMs?: number): string {
  return `${retryMs === undefined ? '' : `retry: ${retryMs}\n`}event: ${event}\ndata: ${data}\n\n`;
}

/** A comment line: keeps proxies and load balancers from closing an idle stream. */
export const SSE_HEARTBEAT = ': heartbeat\n\n';
