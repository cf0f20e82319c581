// Task ids: version 4 UUIDs from a pooled random buffer; each one new, in the UUID shape, with its random bits spread.
import { newTaskId } from '../lib/task-id.js';
import { UUID } from './status-support.js';

describe('newTaskId()', () => {
  it('makes version 4 UUIDs, none twice, across many refills of its random pool', () => {
    const ids = Array.from({ length: 20_000 }, () => newTaskId());
    expect(ids.filter((id) => !UUID.test(id))).toEqual([]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('returns a string of its own each time (the buffer it is written from is reused)', () => {
    const first = newTaskId();
    const copy = `${first}`;
    newTaskId();
    expect(first).toBe(copy);
  });

  it('spreads its random hex digits evenly (no digit stuck by the encoding)', () => {
    // The 30 random hex digits of each id (the version digit and the variant digit left out).
    const counts = new Map<string, number>();
    const ids = 4000;
    for (let i = 0; i < ids; i++) {
      const digits = newTaskId().replaceAll('-', '');
      const random = digits.slice(0, 12) + digits.slice(13, 16) + digits.slice(17);
      for (const digit of random) counts.set(digit, (counts.get(digit) ?? 0) + 1);
    }
    expect([...counts.keys()].sort().join('')).toBe('0123456789abcdef');
    const expected = (ids * 30) / 16;
    // 7,500 per digit expected; a sound generator stays within a few percent, a stuck bit is off by half.
    for (const count of counts.values()) expect(Math.abs(count - expected) / expected).toBeLessThan(0.08);
  });
});
