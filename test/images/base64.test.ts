import { decodeBase64Strict, unwrapDataUri } from '../../src/images';
import { VerigateError } from '../../src/errors';

const codeOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    if (e instanceof VerigateError) return e.code;
    throw e;
  }
  return 'OK';
};
const decode = (s: string, max = 1 << 20) => decodeBase64Strict(s, 'f', max);

describe('decodeBase64Strict', () => {
  it('decodes the standard alphabet, padded or not', () => {
    expect(decode('aGVsbG8=').toString()).toBe('hello');
    expect(decode('aGVsbG8').toString()).toBe('hello');
    expect(decode('aGk=').toString()).toBe('hi');
    expect(decode('aGk').toString()).toBe('hi');
    expect(decode('+/+/').equals(Buffer.from([0xfb, 0xff, 0xbf]))).toBe(true);
    expect(decode('').length).toBe(0);
  });

  it('strips ASCII whitespace anywhere (MIME line wrapping)', () => {
    expect(decode(' aGVs\r\nbG8=\n\t').toString()).toBe('hello');
  });

  it.each([
    ['junk character', 'aGVs*bG8='],
    ['URL-safe "-"', '-_-_'],
    ['URL-safe mixed with standard', 'a+b-'],
    ['padding in the middle', 'aG==VsbG8='],
    ['three "=" ', 'aGk==='],
    ['padded but not a multiple of 4', 'aGVsbG8=='],
    ['4n+1 characters', 'aGVsb'],
    ['padding alone', '=='],
    ['non-ASCII', 'aGVs\u00e9bG8='],
    ['form feed / vertical tab are not accepted whitespace', 'aGVs\fbG8='],
    ['NUL', 'aGVs\u0000bG8='],
  ])('refuses %s with BAD_USER_INPUT', (_name, s) => {
    expect(codeOf(() => decode(s))).toBe('BAD_USER_INPUT');
  });

  it('names the URL-safe alphabet when that is the mistake', () => {
    expect(() => decode('ab-_')).toThrow(/URL-safe/);
  });

  it('maxBytes is exact on the decoded size', () => {
    const b64 = Buffer.alloc(3000, 7).toString('base64');
    expect(codeOf(() => decode(b64, 3000))).toBe('OK');
    expect(codeOf(() => decode(b64, 2999))).toBe('IMAGE_TOO_LARGE');
    const unpadded = Buffer.alloc(3001, 7).toString('base64').replace(/=+$/, '');
    expect(codeOf(() => decode(unpadded, 3001))).toBe('OK');
    expect(codeOf(() => decode(unpadded, 3000))).toBe('IMAGE_TOO_LARGE');
  });

  it('size is judged before the characters: an oversized string of junk is IMAGE_TOO_LARGE', () => {
    expect(codeOf(() => decode('%'.repeat(20_000), 1000))).toBe('IMAGE_TOO_LARGE');
  });

  it('whitespace within the slack band is measured exactly, not refused on the raw length', () => {
    const b64 = Buffer.alloc(3000, 7).toString('base64'); // 4000 chars
    const wrapped = (b64.match(/.{1,64}/g) ?? []).join('\r\n'); // +3%
    expect(codeOf(() => decode(wrapped, 3000))).toBe('OK');
  });
});

describe('decodeBase64Strict against its definition', () => {
  /** The definition, slowly: whitespace stripped, then the standard alphabet, padding at the end, a length an encoder produces. */
  const strict = (payload: string): Buffer | null => {
    const s = payload.replace(/[ \t\r\n]/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return null;
    const data = s.replace(/=+$/, '');
    if (data.length % 4 === 1 || (s.length > data.length && s.length % 4 !== 0)) return null;
    return Buffer.from(data, 'base64');
  };
  const decode = (p: string): Buffer | null => {
    try {
      return decodeBase64Strict(p, 'selfie', 1 << 20);
    } catch {
      return null;
    }
  };

  it('agrees on 20,000 random payloads and single-character corruptions of valid ones', () => {
    let state = 0x9e3779b9;
    const rand = (n: number) => {
      // xorshift32: every bit usable, unlike a power-of-two LCG's low bits
      state ^= state << 13;
      state ^= state >>> 17;
      state ^= state << 5;
      return (state >>> 0) % n;
    };
    const inserts = ['-', '_', '=', '==', ' ', '\n', '!', '.', 'é', '\u0000', '\u2028', '%', '+', '/', 'A'];
    let valid = 0;
    for (let i = 0; i < 20_000; i++) {
      const bytes = Buffer.from(Array.from({ length: rand(40) }, () => rand(256)));
      let p = bytes.toString('base64');
      if (rand(3) === 0) p = p.replace(/=+$/, '');
      const op = rand(4);
      const at = rand(p.length + 1);
      if (op === 1) p = p.slice(0, at) + inserts[rand(inserts.length)] + p.slice(at);
      if (op === 2 && p.length > 0) p = p.slice(0, at) + p.slice(at + 1);
      if (op === 3) p = p.slice(0, at) + inserts[rand(inserts.length)] + inserts[rand(inserts.length)] + p.slice(at);
      const want = strict(p);
      const got = decode(p);
      if (want) valid++;
      expect([p, got?.toString('hex') ?? null]).toEqual([p, want?.toString('hex') ?? null]);
    }
    expect(valid).toBeGreaterThan(5000); // both verdicts well represented
  });
});

describe('unwrapDataUri', () => {
  it('passes a bare base64 string through', () => {
    expect(unwrapDataUri('aGVsbG8=', 'f')).toEqual({ payload: 'aGVsbG8=' });
  });

  it('splits the header, keeps the label only as information', () => {
    expect(unwrapDataUri('data:image/jpeg;base64,AAAA', 'f')).toEqual({ payload: 'AAAA', declaredType: 'image/jpeg' });
    expect(unwrapDataUri('  DATA:Image/PNG;charset=utf-8;BASE64,AA', 'f')).toEqual({ payload: 'AA', declaredType: 'image/png' });
    expect(unwrapDataUri('data:;base64,AA', 'f')).toEqual({ payload: 'AA', declaredType: undefined });
  });

  it.each([
    ['not base64', 'data:image/jpeg,%FF%D8'],
    ['no comma', 'data:image/jpeg;base64'],
    ['garbage in the header', 'data:image/jpeg<script>;base64,AAAA'],
    ['comma beyond 256 characters', `data:image/jpeg;x=${'a'.repeat(300)};base64,AAAA`],
    ['base64 not last', 'data:image/jpeg;base64;x=y,AAAA'],
  ])('refuses %s with BAD_USER_INPUT', (_name, s) => {
    expect(codeOf(() => unwrapDataUri(s, 'f'))).toBe('BAD_USER_INPUT');
  });
});
