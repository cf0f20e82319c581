// Reading the demo's settings from the environment: a bad value stops the process with one clear line, never a stack.

/** A whole number from the environment (at least `min`), or the fallback when unset; anything else exits with a message. */
export function numberFromEnv(program: string, name: string, fallback: number, min = 0): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!/^\s*\d+\s*$/.test(raw) || !Number.isSafeInteger(value) || value < min) {
    console.error(`${program}: ${name} must be a whole number >= ${min}; got ${JSON.stringify(raw)}`);
    process.exit(1);
  }
  return value;
}
