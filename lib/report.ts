// Telling people what happened: the debug logger, the one console line (warn), and safe descriptions. Never task arguments.
import { inspect, types } from 'node:util';
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

/** A request's URL as a log line shows it: its path only, printable (see below); '' for anything but a string. */
export function printablePath(url: unknown): string {
  return typeof url === 'string' ? printable(pathOf(url)) : '';
}

/** Control characters a terminal or a log reader acts on (newlines, ANSI escapes, C1 controls, line separators). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point.
const CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

function escapeControl(char: string): string {
  switch (char) {
    case '\n':
      return '\\n';
    case '\r':
      return '\\r';
    case '\t':
      return '\\t';
    default:
      return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
  }
}

/** `text` with its control characters escaped, so that it cannot start a line of its own or colour one. */
export function escapeControls(text: string): string {
  return text.replace(CONTROLS, escapeControl);
}

/** Anything as a string, never throwing (a Symbol, or a toString that throws, included). */
function asText(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return String(value);
  } catch {
    return `[${typeof value}]`;
  }
}

/**
 * A name, id, method or path as a log line shows it: control characters escaped and at most 200 characters, so that
 * a forged job or task name cannot write lines of its own. Every name the package prints goes through here.
 */
export function printable(value: unknown): string {
  const text = asText(value);
  return escapeControls(text.length > 200 ? `${text.slice(0, 200)}...` : text);
}

const UNREADABLE = Symbol('unreadable');

/** Reads a property that may be a throwing getter (UNREADABLE then). */
function read(object: object, key: string): unknown {
  try {
    return (object as Record<string, unknown>)[key];
  } catch {
    return UNREADABLE;
  }
}

/** One line describing a thrown value, whatever it is (a throw can carry anything, even a null-prototype object); never throws. */
export function describeError(error: unknown): string {
  let text: string;
  if (isError(error)) {
    const name = read(error, 'name');
    const message = read(error, 'message');
    const said = message === UNREADABLE ? '(its message cannot be read)' : message === undefined ? '' : asText(message);
    text = `${typeof name === 'string' ? name : 'Error'}: ${said}`;
  } else {
    try {
      text = `${typeof error} thrown: ${inspect(error, { depth: 0, breakLength: Number.POSITIVE_INFINITY })}`;
    } catch {
      text = `${typeof error} thrown`;
    }
  }
  text = text.replace(/\s*\n\s*/g, ' ');
  return escapeControls(text.length > 300 ? `${text.slice(0, 297)}...` : text);
}

/** An Error, from this realm or another (a vm context, jest's sandbox), never throwing (a Proxy's getPrototypeOf trap can). */
export function isError(value: unknown): value is Error {
  try {
    return types.isNativeError(value) || value instanceof Error;
  } catch {
    return false;
  }
}

/** How many causes the default error line follows (Node's inspector stops at its depth too). */
const MAX_CAUSES = 5;

/**
 * The `cause` chain of an error, one `[cause] Name: message` line each (indented by four spaces), at most MAX_CAUSES
 * deep, a cycle said once; '' when there is none. Never throws.
 */
export function causesOf(error: unknown): string {
  let text = '';
  const seen = new Set<unknown>([error]);
  let current = error;
  for (let depth = 0; ; depth++) {
    if (current === null || (typeof current !== 'object' && typeof current !== 'function')) return text;
    const cause = read(current, 'cause');
    if (cause === undefined || cause === UNREADABLE) return text;
    if (seen.has(cause)) return `${text}\n    [cause] (circular)`;
    if (depth === MAX_CAUSES) return `${text}\n    [cause] ... (more causes not shown)`;
    seen.add(cause);
    text += `\n    [cause] ${describeError(cause)}`;
    current = cause;
  }
}

/** A thrown value as an Error: itself, or a new Error whose message describes it (for places that need an Error). */
export function asError(thrown: unknown): Error {
  return isError(thrown) ? thrown : new Error(describeError(thrown));
}

/** A duration in ms, short and readable. */
export function formatMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(2)}ms` : `${Math.round(ms)}ms`;
}
