// How outcomes are told: the debug logger and the default onError line. Never task arguments.
import { inspect } from 'node:util';
import createDebug from 'debug';

/** `DEBUG=express-background-tasks` turns this on. */
export const debug = createDebug('express-background-tasks');

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
      text = `${typeof error} thrown: ${inspect(error, { depth: 0, breakLength: Infinity })}`;
    } catch {
      text = `${typeof error} thrown`;
    }
  }
  text = text.replace(/\s*\n\s*/g, ' ');
  return text.length > 300 ? `${text.slice(0, 297)}...` : text;
}

/** A duration in ms, short and readable. */
export function formatMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(2)}ms` : `${Math.round(ms)}ms`;
}
