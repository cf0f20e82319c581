// The page's live feed: Server-Sent Events, one stream per open page, each change sent at most twice a second.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { sseEvent, startEventStream } from '../sse.js';

export const STREAM_LIMITS = {
  /** Open streams (pages) at once; one more is answered 503. */
  streams: 20,
  /** A change is sent at most this long after it happened, and changes in between go out together. */
  throttleMs: 500,
  /** A fresh snapshot this often even when nothing changed (elapsed times, queue counts; keeps proxies from closing it). */
  refreshMs: 5000,
  /** Bytes a page may leave unread before its stream is ended (it reconnects, and gets one whole snapshot). */
  unreadBytes: 1024 * 1024,
} as const;

export interface StreamHooks {
  /** Builds the snapshot sent to every page (one JSON text for all of them). */
  snapshot(): string;
  /** The first page opened (start what only open pages need), and the last one closed. */
  first(): void;
  last(): void;
}

export class Streams {
  readonly #clients = new Set<ServerResponse>();
  readonly #hooks: StreamHooks;
  #pending: NodeJS.Timeout | undefined;
  #refresh: NodeJS.Timeout | undefined;

  constructor(hooks: StreamHooks) {
    this.#hooks = hooks;
  }

  get size(): number {
    return this.#clients.size;
  }

  /** Starts a page's stream; false (nothing written) when too many are open. */
  open(req: IncomingMessage, res: ServerResponse): boolean {
    if (this.#clients.size >= STREAM_LIMITS.streams) return false;
    startEventStream(res);
    this.#clients.add(res);
    req.socket.setNoDelay(true);
    const closed = (): void => {
      if (!this.#clients.delete(res)) return;
      if (this.#clients.size === 0) this.#stop();
    };
    res.once('close', closed);
    if (this.#clients.size === 1) {
      this.#refresh = setInterval(() => this.#send(), STREAM_LIMITS.refreshMs).unref();
      this.#hooks.first();
    }
    res.write(sseEvent('snapshot', this.#hooks.snapshot(), 3000));
    return true;
  }

  /** Something changed: every page hears of it within throttleMs. */
  changed(): void {
    if (this.#clients.size === 0 || this.#pending !== undefined) return;
    this.#pending = setTimeout(() => this.#send(), STREAM_LIMITS.throttleMs).unref();
  }

  #send(): void {
    clearTimeout(this.#pending);
    this.#pending = undefined;
    if (this.#clients.size === 0) return;
    const event = sseEvent('snapshot', this.#hooks.snapshot());
    for (const res of this.#clients) {
      // A page that does not read (a stalled tab, a slow link) is not buffered for without end: dropped, with what it
      // left unread (its 'close' removes it); a browser reconnects and gets a whole snapshot.
      if (res.writableLength > STREAM_LIMITS.unreadBytes) res.destroy();
      else res.write(event);
    }
  }

  #stop(): void {
    clearTimeout(this.#pending);
    clearInterval(this.#refresh);
    this.#pending = undefined;
    this.#refresh = undefined;
    this.#hooks.last();
  }

  /** Ends every stream (the pages reconnect if the router still answers). */
  close(): void {
    for (const res of [...this.#clients]) res.end();
    this.#clients.clear();
    this.#stop();
  }
}
