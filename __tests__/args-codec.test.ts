// The queue's argument encoding (lib/args-codec.ts): JSON where exact, Node's serializer for the rest; old data still read.
import { decodeArgs, encodeArgs } from '../lib/args-codec.js';

describe('encodeArgs / decodeArgs', () => {
  it('keeps JSON-exact arguments as plain JSON, with no encoded list', () => {
    const args = ['ada@example.com', 1.5, true, null, [1, { b: 'c' }], { nested: { ok: [] } }, Object.create(null)];
    const stored = encodeArgs(args);
    expect(stored).toEqual({ args });
    expect(JSON.parse(JSON.stringify(stored))).toEqual({ args });
    expect(decodeArgs(JSON.parse(JSON.stringify(stored)))).toEqual(args);
  });

  it('encodes what JSON would change, and gives it back as it was, through JSON', () => {
    const shared = { id: 1 };
    const cycle: Record<string, unknown> = { a: 1 };
    cycle.self = cycle;
    // biome-ignore lint/suspicious/noSparseArray: a hole JSON would turn into null.
    const holes = [1, , 3];
    const args = [
      'plain',
      Buffer.from('avatar'),
      { nested: Buffer.from([1, 2]) },
      new Date(0),
      new Map([['k', new Set([1n])]]),
      undefined,
      Number.NaN,
      -0,
      holes,
      { one: shared, two: shared },
      cycle,
      new Float32Array([0.5]),
    ];
    const stored = JSON.parse(JSON.stringify(encodeArgs(args)));
    expect(stored.encoded).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const back = decodeArgs(stored) as unknown[];
    expect(back).toEqual(args);
    expect(Buffer.isBuffer(back[1])).toBe(true);
    expect(Buffer.isBuffer((back[2] as { nested: unknown }).nested)).toBe(true);
    expect(Object.is(back[7], -0)).toBe(true);
    expect(7 in (back[8] as unknown[])).toBe(false);
    expect(1 in (back[8] as unknown[])).toBe(false);
    const pair = back[9] as { one: unknown; two: unknown };
    expect(pair.one).toBe(pair.two);
    const loop = back[10] as { self: unknown };
    expect(loop.self).toBe(loop);
  });

  it('reads data written by Node 20 (a newer Node reads an older serializer format)', () => {
    // v8.serialize() on Node 20.20.2 of: { file: Buffer, when: Date(0), sizes: Map(s => Uint16Array[64, 64]),
    // tags: Set(a), big: 2n ** 70n, none: undefined, list: [1, , 3], self: <the object> }.
    const written =
      '/w9vIgRmaWxlXAoEiVBORyIEd2hlbkQAAAAAAAAAACIFc2l6ZXM7IgFzXAQEQABAADoCIgR0YWdzJyIBYSwBIgNiaWdaIAAAAAAAAAAAQAAAAAAAAAAiBG5vbmVfIgRsaXN0YQNJAEkCSQRJBkACAyIEc2VsZl4Aewg=';
    const [value] = decodeArgs({ args: [written], encoded: [0] }) as [Record<string, unknown>];
    expect(Buffer.isBuffer(value.file)).toBe(true);
    expect(value.file).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47]));
    expect(value.when).toEqual(new Date(0));
    expect(value.sizes).toEqual(new Map([['s', new Uint16Array([64, 64])]]));
    expect(value.tags).toEqual(new Set(['a']));
    expect(value.big).toBe(2n ** 70n);
    expect('none' in value && value.none === undefined).toBe(true);
    expect(1 in (value.list as unknown[])).toBe(false);
    expect(value.self).toBe(value);
  });

  it('refuses what the serializer cannot write with a TypeError by position, never quoting a function', () => {
    const encode = () => encodeArgs(['ok', { onDone: () => 'secret source' }]);
    expect(encode).toThrow(TypeError);
    expect(encode).toThrow(/^args\[1\] cannot go through a queue/);
    expect(encode).not.toThrow(/secret source/);
  });

  it('says why, without quoting the data, when stored arguments cannot be read', () => {
    expect(decodeArgs({ args: 'x' })).toBe('its args are not an array');
    expect(decodeArgs({ args: [], encoded: 'x' })).toBe('its list of encoded arguments is not an array');
    expect(decodeArgs({ args: [1], encoded: [0] })).toMatch(/names an argument that is not an encoded string/);
    expect(decodeArgs({ args: ['a'], encoded: [1] })).toMatch(/names an argument that is not an encoded string/);
    expect(decodeArgs({ args: ['c2VjcmV0'], encoded: [0] })).toBe(
      'its argument 0 cannot be decoded (corrupt, or written by a newer Node whose serializer this one cannot read)',
    );
  });
});
