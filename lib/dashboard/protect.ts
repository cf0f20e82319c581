// Protecting the dashboard's actions: a per-page token (signed, so nothing is stored per page) and a same-origin check.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** How long a page's token stays good: a page open longer is reloaded to act again. */
export const TOKEN_LIFETIME_MS = 12 * 60 * 60 * 1000;
/** The header the page sends its token in (a cross-site form cannot set a header). */
export const TOKEN_HEADER = 'x-tasks-dashboard-token';

/** Per-page tokens: a random nonce and an expiry, signed with a key made for this router and never sent. */
export class PageTokens {
  readonly #key = randomBytes(32);

  /** A new token, for one page. */
  issue(now = Date.now()): string {
    const body = `${randomBytes(12).toString('base64url')}.${(now + TOKEN_LIFETIME_MS).toString(36)}`;
    return `${body}.${this.#sign(body)}`;
  }

  /** Whether `token` was issued by this router and has not expired. */
  verify(token: unknown, now = Date.now()): boolean {
    if (typeof token !== 'string' || token.length > 200) return false;
    const cut = token.lastIndexOf('.');
    if (cut === -1) return false;
    const body = token.slice(0, cut);
    const given = Buffer.from(token.slice(cut + 1));
    const expected = Buffer.from(this.#sign(body));
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false;
    const expires = Number.parseInt(body.slice(body.indexOf('.') + 1), 36);
    return Number.isFinite(expires) && now < expires;
  }

  #sign(body: string): string {
    return createHmac('sha256', this.#key).update(body).digest('base64url');
  }
}

/**
 * Why a POST does not come from the dashboard's own page, or undefined when it does. Browsers send `Sec-Fetch-Site`
 * (trusted when present) and `Origin` on every POST; a request with neither is refused (send an Origin from scripts).
 * The Origin's host is compared with the Host header, so that a TLS-terminating proxy in front does not matter.
 */
export function crossOriginReason(req: IncomingMessage): string | undefined {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined) return site === 'same-origin' ? undefined : `Sec-Fetch-Site is "${site}", not "same-origin"`;
  const origin = req.headers.origin;
  if (origin === undefined) return 'the request has neither a Sec-Fetch-Site nor an Origin header';
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return 'the Origin header is not a URL';
  }
  return host !== '' && host === req.headers.host ? undefined : 'the Origin header names another site';
}
