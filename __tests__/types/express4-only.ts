// Type tests (tsc only): proves tsconfig.types-express4.json sees @types/express 4, not 5 (tsconfig.json leaves this file out).
import type { Request } from 'express';

// Express 4's typings have req.param(); Express 5's dropped it.
type Major = Request extends { param(name: string): string } ? 4 : 5;
export const major: Major = 4;

export function handler(req: Request): string {
  return req.param('id');
}
