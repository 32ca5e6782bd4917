/**
 * parseJsonBody (src/api/json-body.ts) cuts long string literals out of a JSON body before parsing
 * and puts them back: whatever the body, it must answer exactly as JSON.parse does — the same
 * value, or a SyntaxError for a body JSON.parse refuses.
 */
import { randomBytes } from 'node:crypto';
import { parseJsonBody } from '../../src/api/json-body';

const b64 = (n: number) => randomBytes(n).toString('base64');
const LONG = 20_000; // over the cut's 16 KiB threshold

/** parseJsonBody on these bytes, against JSON.parse: equal values, or both throw a SyntaxError */
function agrees(text: string | Buffer): void {
  const raw = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  let expected: unknown;
  try {
    expected = JSON.parse(raw.toString('utf8'));
  } catch (e) {
    expect(e).toBeInstanceOf(SyntaxError);
    expect(() => parseJsonBody(raw)).toThrow(SyntaxError);
    return;
  }
  expect(parseJsonBody(raw)).toEqual(expected);
}

describe('a JSON body with long strings', () => {
  it('parses a verify request (two base64 images, a data URI) to what JSON.parse gives', () => {
    const body = {
      query: 'mutation($i: VerifyIdentityInput!) { verifyIdentity(input: $i) { id status } }',
      variables: { i: { selfie: b64(74_000), document: `data:image/jpeg;base64,${b64(305_000)}`, referenceId: 'ü-42' } },
    };
    const parsed = parseJsonBody(Buffer.from(JSON.stringify(body))) as typeof body;
    expect(parsed).toEqual(body);
    expect(parsed.variables.i.selfie).toBe(body.variables.i.selfie);
  });

  it.each([
    ['long strings in arrays, nested objects and at the top', () => JSON.stringify([b64(LONG), { a: [[b64(LONG)]], b: { c: b64(LONG) } }])],
    ['a long string as the whole body', () => JSON.stringify(b64(LONG))],
    ['a long string with escapes (kept for JSON.parse)', () => JSON.stringify({ s: `${b64(LONG)}"\\\n\t${b64(LONG)}` })],
    ['a long string of non-ASCII text', () => JSON.stringify({ s: 'Müller—'.repeat(4000) })],
    ['a long key (keys are never cut)', () => `{"${b64(LONG)}" : 1, "k": "${b64(LONG)}"}`],
    ['a long string with a raw newline (invalid JSON)', () => `{"s": "${b64(LONG)}\n${b64(LONG)}"}`],
    ['a long string with a raw tab (invalid JSON)', () => `{"s": "${b64(LONG)}\t"}`],
    ['an unterminated long string', () => `{"s": "${b64(LONG)}`],
    ['junk after a long string', () => `{"s": "${b64(LONG)}" x}`],
    ['a long string where a key belongs', () => `{"${b64(LONG)}"}`],
    ['escaped quotes and backslashes before a long string', () => JSON.stringify({ a: 'x\\"y\\\\', b: '\\', c: b64(LONG) })],
    ['strings that look like the tokens', () => JSON.stringify({ a: 'json:00000000-0000-0000-0000-000000000000:0', b: b64(LONG) })],
    ['a __proto__ key beside a long string', () => `{"__proto__": {"polluted": "${b64(LONG)}"}, "x": "${b64(LONG)}"}`],
    ['no long string at all', () => JSON.stringify({ query: '{ me { id } }', variables: { a: [1, true, null, 'x'] } })],
    ['not JSON', () => 'not json'],
    ['empty', () => ''],
  ])('agrees with JSON.parse: %s', (_, make) => agrees(make()));

  it('agrees on a long string with a lone invalid UTF-8 byte (not cut)', () => {
    const raw = Buffer.from(`{"s": "${b64(LONG)}X"}`);
    raw[raw.length - 3] = 0xff;
    agrees(raw);
  });

  it('leaves Object.prototype alone and keeps __proto__ a plain key', () => {
    const parsed = parseJsonBody(Buffer.from(`{"__proto__": "${b64(LONG)}"}`)) as Record<string, unknown>;
    expect(Object.getPrototypeOf(parsed)).toBe(Object.prototype);
    expect(typeof Object.getOwnPropertyDescriptor(parsed, '__proto__')?.value).toBe('string');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('parses deep nesting without recursing', () => {
    const depth = 50_000;
    const raw = Buffer.from(`${'['.repeat(depth)}"${b64(LONG)}"${']'.repeat(depth)}`);
    let v = parseJsonBody(raw);
    for (let i = 0; i < depth; i++) v = (v as unknown[])[0];
    expect(typeof v).toBe('string');
    expect((v as string).length).toBeGreaterThan(LONG);
  });
});
