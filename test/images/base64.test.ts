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
