// Test helpers for task status: a Server-Sent Events client over a real HTTP response, and a plain JSON GET.
import http from 'node:http';

export interface SseEvent {
  readonly event: string;
  readonly data: string;
}

/** The UUID shape of task ids (version 4, 122 random bits). */
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * An event stream read from a real response, parsed as a browser's EventSource does (event, data and comment lines,
 * blank line ends an event). `next()` waits for events as they come.
 */
export class SseClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  status = 0;
  headers: http.IncomingHttpHeaders = {};
  /** Resolves once the server has ended the stream. */
  readonly ended: Promise<void>;
  readonly request: http.ClientRequest;
  #buffer = '';
  #event = 'message';
  #data: string[] = [];
  #waiters: Array<() => void> = [];
  #body = '';

  constructor(port: number, path: string, headers: Record<string, string> = {}) {
    let ended!: () => void;
    this.ended = new Promise((resolve) => {
      ended = resolve;
    });
    this.request = http.get({ host: '127.0.0.1', port, path, headers: { accept: 'text/event-stream', ...headers } }, (res) => {
      this.status = res.statusCode ?? 0;
      this.headers = res.headers;
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => this.#read(chunk));
      res.on('end', () => {
        ended();
        this.#wake();
      });
    });
    this.request.on('error', () => {
      ended();
      this.#wake();
    });
  }

  /** The raw body (for a non-stream answer such as a 404). */
  get body(): string {
    return this.#body;
  }

  /** Status records from the `status` events so far. */
  records<T = Record<string, unknown>>(): T[] {
    return this.events.filter((e) => e.event === 'status').map((e) => JSON.parse(e.data) as T);
  }

  /** Resolves once `match` accepts an event received so far or later; rejects if the stream ends first. */
  async waitFor(match: (event: SseEvent) => boolean): Promise<SseEvent> {
    for (;;) {
      const found = this.events.find(match);
      if (found !== undefined) return found;
      let ended = false;
      await Promise.race([
        new Promise<void>((resolve) => this.#waiters.push(resolve)),
        this.ended.then(() => {
          ended = true;
        }),
      ]);
      const late = this.events.find(match);
      if (late !== undefined) return late;
      if (ended) throw new Error(`the stream ended before the event waited for; got ${JSON.stringify(this.events)}`);
    }
  }

  /** Resolves once a comment line (such as a heartbeat) has come. */
  async waitForComment(): Promise<string> {
    while (this.comments.length === 0) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    return this.comments[0] as string;
  }

  /** Goes away without a word, as a closed browser tab does. */
  disconnect(): void {
    this.request.destroy();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  #read(chunk: string): void {
    this.#body += chunk;
    this.#buffer += chunk;
    for (;;) {
      const end = this.#buffer.indexOf('\n');
      if (end === -1) break;
      const line = this.#buffer.slice(0, end).replace(/\r$/, '');
      this.#buffer = this.#buffer.slice(end + 1);
      if (line === '') {
        if (this.#data.length > 0) this.events.push({ event: this.#event, data: this.#data.join('\n') });
        this.#event = 'message';
        this.#data = [];
      } else if (line.startsWith(':')) {
        this.comments.push(line.slice(1).trim());
      } else {
        const colon = line.indexOf(':');
        const field = colon === -1 ? line : line.slice(0, colon);
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') this.#event = value;
        else if (field === 'data') this.#data.push(value);
      }
    }
    this.#wake();
  }
}

/** GET `path` as JSON: its status and parsed body. */
export function getJson(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, headers }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: body === '' ? undefined : JSON.parse(body) }));
      })
      .on('error', reject);
  });
}

/** Resolves once Date.now() has passed `ms` (for a record's ttl: the store compares Date.now()). */
export async function clockPast(ms: number): Promise<void> {
  while (Date.now() <= ms) await new Promise((resolve) => setTimeout(resolve, Math.max(1, ms - Date.now() + 1)));
}
