// A task's status record as clients read it (TaskRecord), its error summary, and the checks on a kept result.
import type { Where } from './place.js';
import { printable, warn } from './report.js';
import type { TaskState } from './task-events.js';

/** What a record says of a failed or timed-out task's error: its name and code; its message only with `exposeErrors`. */
export interface TaskRecordError {
  readonly name: string;
  readonly code?: string;
  readonly message?: string;
}

/**
 * One task's status, as `handle.status()` and `taskStatusRouter()` give it. Never the task's arguments. Times are ISO
 * strings; `progress` and `message` are what the task last said with taskProgress().
 */
export interface TaskRecord {
  readonly id: string;
  readonly name: string;
  readonly state: TaskState;
  /** Attempts made so far (retries raise it while the task stays running). */
  readonly attempts: number;
  readonly progress?: number;
  readonly message?: string;
  /** The return value of a task defined with `{ result: true }` (JSON, at most 64 KiB). */
  readonly result?: unknown;
  readonly error?: TaskRecordError;
  readonly addedAt: string;
  readonly startedAt?: string;
  readonly finishedAt?: string;
  readonly where: Where;
}

/** A record and the owner it was added under (never shown to clients: the router compares it). */
export interface FoundRecord {
  readonly record: TaskRecord;
  readonly owner: string | undefined;
}

/** The fields of a record before formatting, times in ms since the epoch. */
export interface RecordFields {
  readonly id: string;
  readonly name: string;
  readonly state: TaskState;
  readonly attempts: number;
  readonly progress: number | undefined;
  readonly message: string | undefined;
  readonly result: unknown;
  readonly error: TaskRecordError | undefined;
  readonly addedAt: number;
  readonly startedAt: number | undefined;
  readonly finishedAt: number | undefined;
  readonly where: Where;
}

/** The record clients see: optional fields only when set, the error's message only when `exposeErrors` allows it. */
export function formatRecord(fields: RecordFields, exposeErrors: boolean): TaskRecord {
  const record: { -readonly [K in keyof TaskRecord]: TaskRecord[K] } = {
    id: fields.id,
    name: fields.name,
    state: fields.state,
    attempts: fields.attempts,
    addedAt: new Date(fields.addedAt).toISOString(),
    where: fields.where,
  };
  if (fields.progress !== undefined) record.progress = fields.progress;
  if (fields.message !== undefined) record.message = fields.message;
  if (fields.result !== undefined) record.result = fields.result;
  if (fields.error !== undefined) {
    const { name, code, message } = fields.error;
    const error: { name: string; code?: string; message?: string } = { name };
    if (code !== undefined) error.code = code;
    if (exposeErrors && message !== undefined) error.message = message;
    record.error = error;
  }
  if (fields.startedAt !== undefined) record.startedAt = new Date(fields.startedAt).toISOString();
  if (fields.finishedAt !== undefined) record.finishedAt = new Date(fields.finishedAt).toISOString();
  return record;
}

/** The longest error message a record keeps (messages are shown only with exposeErrors). */
const MAX_MESSAGE = 1000;

/** What a record keeps of an error: its name, its code (string or number), and its message (shown only with exposeErrors). */
export function errorSummary(error: unknown): TaskRecordError {
  if (error === null || typeof error !== 'object') {
    return { name: 'Error', message: String(error).slice(0, MAX_MESSAGE) };
  }
  const { name, code, message } = error as { name?: unknown; code?: unknown; message?: unknown };
  const summary: { name: string; code?: string; message?: string } = { name: typeof name === 'string' && name !== '' ? name : 'Error' };
  if (typeof code === 'string' || typeof code === 'number') summary.code = String(code);
  if (typeof message === 'string') summary.message = message.slice(0, MAX_MESSAGE);
  return summary;
}

/** The most a kept result may weigh, as JSON (UTF-8 bytes). */
export const MAX_RESULT_BYTES = 64 * 1024;

/** Why a value cannot be kept as a record's result, or undefined when it can (then `json` holds its JSON). */
export function resultProblem(value: unknown): { json: string } | { why: string } {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    return { why: `it is not JSON-serializable (${error instanceof Error ? error.message.split('\n')[0] : 'JSON.stringify threw'})` };
  }
  if (json === undefined) return { why: `it is not JSON-serializable (${value === undefined ? 'undefined' : typeof value})` };
  if (json.length > MAX_RESULT_BYTES / 3 && Buffer.byteLength(json) > MAX_RESULT_BYTES) {
    return { why: `its JSON is ${Buffer.byteLength(json)} bytes, above the ${MAX_RESULT_BYTES} bytes a record keeps` };
  }
  return { json };
}

/**
 * The result to keep for a task defined with `{ result: true }`: a JSON copy of `value`, or undefined (and one line
 * saying why, naming the task but never the value) when it is not JSON-serializable or too big.
 */
export function keptResult(name: string, value: unknown): unknown {
  if (value === undefined) return undefined;
  return resultOf(name, resultProblem(value));
}

/** The value of a checked result (resultProblem()), or undefined after one line saying why it is not kept. */
export function resultOf(name: string, checked: { json: string } | { why: string }): unknown {
  if ('why' in checked) {
    warn(`task "${printable(name)}" is defined with { result: true }, but its result is not kept: ${checked.why}`);
    return undefined;
  }
  return JSON.parse(checked.json) as unknown;
}
