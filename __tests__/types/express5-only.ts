// Type tests (tsc only): proves the main type-check sees @types/express 5 (tsconfig.types-express4.json leaves this file out).
import type { Request } from 'express';

// Express 5's typings dropped req.param(); Express 4's have it.
type Major = Request extends { param(name: string): string } ? 4 : 5;
export const major: Major = 5;

export function handler(req: Request): void {
  // @ts-expect-error: req.param() does not exist in @types/express 5
  req.param('id');
}
