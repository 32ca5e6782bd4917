/** Every hostile input is refused with its expected code; every tricky-but-valid input is accepted. */
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import { parseImageInput, DEFAULT_IMAGE_LIMITS, uprightBytes } from '../../src/images';
import { VerigateError } from '../../src/errors';
import { buildHostileCorpus, buildValidCorpus, type HostileCase, type ValidCase } from '../corpus/hostile';

let hostile: HostileCase[];
let valid: ValidCase[];

beforeAll(async () => {
  [hostile, valid] = await Promise.all([buildHostileCorpus(), buildValidCorpus()]);
});

async function refusal(value: string, field = 'selfie'): Promise<VerigateError> {
  try {
    await parseImageInput(value, field);
  } catch (e) {
    if (e instanceof VerigateError) return e;
    throw new Error(`expected a VerigateError, got ${String(e)}`);
  }
  throw new Error('expected the input to be refused, but it was accepted');
}

describe('hostile corpus', () => {
  it('has the entries the brief asks for', () => {
    const names = hostile.map((c) => c.name.toLowerCase()).join('\n');
    for (const must of ['truncated jpeg', 'empty string', 'png bomb', '20000×20000', 'gif disguised as jpeg', 'svg',
      'pdf disguised', 'webp disguised', 'junk characters', '20 mb', 'media type', 'apng', 'text file', 'only its headers']) {
      expect(names).toContain(must);
    }
    expect(new Set(hostile.map((c) => c.name)).size).toBe(hostile.length);
    expect(hostile.length).toBeGreaterThanOrEqual(40);
  });

  it('every entry is refused with its expected code, naming the field, without echoing the input', async () => {
    const results: string[] = [];
    for (const c of hostile) {
      const err = await refusal(c.value, 'document');
      const ok = err.code === c.expectedCode && err.extensions.code === c.expectedCode && err.extensions.field === 'document';
      results.push(`${ok ? 'ok  ' : 'FAIL'} ${c.name}: expected ${c.expectedCode}, got ${err.code} (${err.message})`);
      expect(err.message).toContain('"document"');
      expect(err.message.length).toBeLessThan(200);
      // no 16-character run of the payload may appear in the message
      const payload = c.value.replace(/^data:[^,]*,/, '');
      for (let i = 0; i + 16 <= Math.min(payload.length, 4096); i += 8) {
        const slice = payload.slice(i, i + 16);
        if (/^[A-Za-z0-9+/=]{16}$/.test(slice)) expect(err.message).not.toContain(slice);
      }
    }
    const failures = results.filter((r) => r.startsWith('FAIL'));
    expect(failures).toEqual([]);
  });

  it('the UNSUPPORTED refusals name what was found', async () => {
    const expectations: Array<[RegExp, RegExp]> = [
      [/^GIF disguised/, /GIF/],
      [/^SVG \(with/, /SVG/],
      [/^PDF disguised/, /PDF/],
      [/^WebP disguised/, /WEBP/],
      [/^AVIF disguised/, /AVIF/],
      [/^HEIC header/, /HEIC/],
      [/^BMP disguised/, /BMP/],
      [/^TIFF/, /TIFF/],
      [/^valid text file/, /text/],
      [/^HTML page/, /HTML/],
      [/^animated PNG/, /animated PNG/],
    ];
    for (const [nameRe, messageRe] of expectations) {
      const c = hostile.find((h) => nameRe.test(h.name));
      expect(c).toBeDefined();
      expect((await refusal(c!.value)).message).toMatch(messageRe);
    }
  });
});

describe('valid corpus (tricky but acceptable inputs)', () => {
  it('every entry is accepted with the right format, oriented size and hash', async () => {
    for (const c of valid) {
      const img = await parseImageInput(c.value, 'selfie');
      expect({ name: c.name, format: img.format, width: img.width, height: img.height, sha256: img.sha256 }).toEqual({
        name: c.name, format: c.format, width: c.width, height: c.height, sha256: c.sha256,
      });
      // the bytes go on as sent, with their orientation; uprightBytes turns them for remote providers
      expect(createHash('sha256').update(img.bytes).digest('hex')).toBe(c.sha256);
      expect(img.orientation).toBe(c.orientation);
      const upright = await uprightBytes(img);
      const meta = await sharp(upright).metadata();
      expect(meta.format).toBe(c.format);
      expect([meta.width, meta.height]).toEqual([c.width, c.height]);
      expect(meta.orientation ?? 1).toBe(1);
      if (c.orientation === 1) expect(upright).toBe(img.bytes);
    }
  });

  it('limits are the documented defaults', () => {
    expect(DEFAULT_IMAGE_LIMITS).toEqual({ maxBytes: 10 * 1024 * 1024, maxPixels: 40_000_000, maxDimension: 12_000 });
  });
});
