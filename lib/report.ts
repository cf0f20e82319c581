// Telling people what happened: the debug logger, the one console line (warn), and safe descriptions. Never task arguments.
import { inspect } from 'node:util';
import createDebug from 'debug';

/** `DEBUG=express-background-tasks` turns this on. */
export const debug = createDebug('express-background-tasks');

/** Every line the package writes to stderr goes through here, so that the prefix is written once. */
export function warn(message: string): void {
  console.error(`express-background-tasks: ${message}`);
}

/** The path of a URL without its query string: query strings often carry emails and tokens. */
export function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/** One line describing a thrown value, whatever it is (a throw can carry anything, even a null-prototype object). */
export function describeError(error: unknown): string {
  let text: string;
  if (error instanceof Error) {
    text = `${error.name}: ${error.message}`;
  } else {
    try {
      text = `${typeof error} thrown: ${inspect(error, { depth: 0, breakLength: Number.POSITIVE_INFINITY })}`;
    } catch {
      text = `${typeof error} thrown`;
    }
  }
  text = text.replace(/\s*\n\s*/g, ' ');
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

/** A thrown value as an Error: itself, or a new Error whose message describes it (for places that need an Error). */
export function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(describeError(thrown));
}

/** A duration in ms, short and readable. */
export function formatMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(2)}ms` : `${Math.round(ms)}ms`;
}
