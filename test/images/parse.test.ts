/** parseImageInput on real photographs, EXIF orientation, limits, and the cost discipline around bombs. */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { DEFAULT_IMAGE_LIMITS, parseImageInput, uprightBytes, type ImageLimits } from '../../src/images';
import { VerigateError } from '../../src/errors';
import { craftPng, dataUri, jpegHeadersOnly, noisyJpeg, oneBitBombPng, patchJpegDimensions, pseudoRandomBytes } from '../corpus/builders';
import { FACES_DIR } from '../support/faces';
import { codeOf } from '../support/http';

const FACES = join(FACES_DIR, 'face_recognition');
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');


afterEach(() => jest.restoreAllMocks());

describe('real photographs', () => {
  it('a real JPEG from the face set → exact size, format, hash, bytes passed through unchanged', async () => {
    const file = readFileSync(`${FACES}/tests/test_images/obama.jpg`);
    const img = await parseImageInput(file.toString('base64'), 'selfie');
    expect(img.format).toBe('jpeg');
    expect([img.width, img.height]).toEqual([910, 1137]);
    expect(img.sha256).toBe(sha256(file));
    expect(img.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(img.bytes.equals(file)).toBe(true);
  });

  it('the same JPEG as a data URI gives the same result', async () => {
    const file = readFileSync(`${FACES}/examples/two_people.jpg`);
    const meta = await sharp(file).metadata();
    const img = await parseImageInput(dataUri('image/jpeg', file), 'document');
    expect([img.format, img.width, img.height, img.sha256]).toEqual(['jpeg', meta.autoOrient.width, meta.autoOrient.height, sha256(file)]);
  });

  it.each([['examples/lin-manuel-miranda.png'], ['tests/test_images/32bit.png']])('a real PNG (%s) works', async (path) => {
    const file = readFileSync(`${FACES}/${path}`);
    const meta = await sharp(file).metadata();
    const img = await parseImageInput(dataUri('image/png', file), 'selfie');
    expect(img.format).toBe('png');
    expect([img.width, img.height]).toEqual([meta.width, meta.height]);
    expect(img.sha256).toBe(sha256(file));
    expect(img.bytes.equals(file)).toBe(true);
  });
});

describe('EXIF orientation', () => {
  /** 200×100 stored: left half red, right half blue. */
  const halves = () =>
    sharp({ create: { width: 200, height: 100, channels: 3, background: '#ff0000' } })
      .composite([{ input: { create: { width: 100, height: 100, channels: 3, background: '#0000ff' } }, left: 100, top: 0 }]);

  async function pixel(buf: Buffer, x: number, y: number): Promise<[number, number, number]> {
    const { data, info } = await sharp(buf).raw().toBuffer({ resolveWithObject: true });
    const i = (y * info.width + x) * info.channels;
    return [data[i]!, data[i + 1]!, data[i + 2]!];
  }

  it('orientation 6 JPEG → oriented dims and orientation, the bytes as sent; uprightBytes turns the pixels', async () => {
    const sent = await halves().jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
    expect((await sharp(sent).metadata()).orientation).toBe(6);
    const img = await parseImageInput(sent.toString('base64'), 'selfie');
    expect([img.format, img.width, img.height, img.orientation]).toEqual(['jpeg', 100, 200, 6]);
    // no re-encode on the way in: the local engine applies the orientation as it reads the pixels
    expect(img.bytes.equals(sent)).toBe(true);
    expect(img.sha256).toBe(sha256(sent));

    // what a remote provider is sent instead
    const upright = await uprightBytes(img);
    const meta = await sharp(upright).metadata();
    expect(meta.format).toBe('jpeg');
    expect([meta.width, meta.height]).toEqual([100, 200]); // stored upright, not just tagged
    expect(meta.orientation ?? 1).toBe(1);
    // orientation 6 = rotate 90° clockwise to display: the left (red) half becomes the top
    const top = await pixel(upright, 50, 20);
    const bottom = await pixel(upright, 50, 180);
    expect(top[0]).toBeGreaterThan(200);
    expect(top[2]).toBeLessThan(60);
    expect(bottom[2]).toBeGreaterThan(200);
    expect(bottom[0]).toBeLessThan(60);
    // made once: fallback, consensus and shadow calls share it
    expect(await uprightBytes(img)).toBe(upright);
  });

  it('orientation 3 PNG (eXIf chunk) → upright bytes rotated 180°, still PNG', async () => {
    const sent = await halves().png().withMetadata({ orientation: 3 }).toBuffer();
    const img = await parseImageInput(sent.toString('base64'), 'selfie');
    expect([img.format, img.width, img.height, img.orientation]).toEqual(['png', 200, 100, 3]);
    const upright = await uprightBytes(img);
    expect((await sharp(upright).metadata()).format).toBe('png');
    const left = await pixel(upright, 20, 50);
    expect(left[2]).toBe(255); // blue is now on the left
    expect(left[0]).toBe(0);
  });

  it('orientation 1: uprightBytes is the bytes as sent (no needless re-encode)', async () => {
    const sent = await halves().jpeg().withMetadata({ orientation: 1 }).toBuffer();
    const img = await parseImageInput(sent.toString('base64'), 'selfie');
    expect(img.bytes.equals(sent)).toBe(true);
    expect([img.width, img.height, img.orientation]).toEqual([200, 100, 1]);
    expect(await uprightBytes(img)).toBe(img.bytes);
  });

  it('a truncated JPEG with orientation 6 is still refused, with or without the edge decode', async () => {
    const sent = await noisyJpeg(160, 120, { orientation: 6 });
    const cut = sent.subarray(0, sent.length - 400).toString('base64');
    expect(await codeOf(parseImageInput(cut, 'selfie'))).toBe('BAD_IMAGE');
    expect(await codeOf(parseImageInput(cut, 'selfie', DEFAULT_IMAGE_LIMITS, false))).toBe('BAD_IMAGE');
  });

  it('a turned JPEG that libjpeg cannot decode passes the edge without its decode, and uprightBytes refuses it as BAD_IMAGE', async () => {
    const sent = await noisyJpeg(160, 120, { orientation: 6 });
    const scan = sent.indexOf(Buffer.from([0xff, 0xda]));
    sent[scan + 6] = 0x33; // the first component's scan names Huffman tables 3, which the file does not define
    const img = await parseImageInput(sent.toString('base64'), 'selfie', DEFAULT_IMAGE_LIMITS, false);
    expect(img.orientation).toBe(6);
    expect(await codeOf(uprightBytes(img))).toBe('BAD_IMAGE');
  });
});

describe('truncation', () => {
  it('a JPEG cut right before its EOI is refused even when libjpeg itself would decode it', async () => {
    // libjpeg only notices a missing EOI when the last MCU needs more bits: find inputs where it does not.
    let silentlyDecodable: Buffer | undefined;
    for (let seed = 1; seed <= 60 && !silentlyDecodable; seed++) {
      const jpeg = await sharp(pseudoRandomBytes(48 * 32 * 3, seed), { raw: { width: 48, height: 32, channels: 3 } }).jpeg({ quality: 80 }).toBuffer();
      const cut = jpeg.subarray(0, jpeg.length - 2);
      try {
        await sharp(cut, { failOn: 'error' }).resize(256, 256, { fit: 'inside', withoutEnlargement: true }).raw().toBuffer();
        silentlyDecodable = cut;
      } catch {
        // libjpeg noticed this one
      }
    }
    expect(silentlyDecodable).toBeDefined(); // precondition: the case exists with this libjpeg
    expect(await codeOf(parseImageInput(silentlyDecodable!.toString('base64'), 'selfie'))).toBe('BAD_IMAGE');
  });

  it('data after the EOI (as some phones append) is accepted and kept', async () => {
    const sent = Buffer.concat([await noisyJpeg(64, 48), Buffer.from('\x00trailer')]);
    const img = await parseImageInput(sent.toString('base64'), 'selfie');
    expect(img.bytes.equals(sent)).toBe(true);
  });
});

describe('limits', () => {
  const small: ImageLimits = { maxBytes: 4096, maxPixels: 10_000, maxDimension: 150 };

  it('maxBytes: refused on the string length, decoded size exactly at the limit is fine', async () => {
    const jpeg = await noisyJpeg(64, 48);
    expect(await codeOf(parseImageInput(jpeg.toString('base64'), 'selfie', { ...DEFAULT_IMAGE_LIMITS, maxBytes: jpeg.length - 1 }))).toBe('IMAGE_TOO_LARGE');
    expect(await codeOf(parseImageInput(jpeg.toString('base64'), 'selfie', { ...DEFAULT_IMAGE_LIMITS, maxBytes: jpeg.length }))).toBe('ACCEPTED');
  });

  it('maxDimension and maxPixels are applied to what the header declares', async () => {
    const jpeg = await noisyJpeg(160, 40); // 6400 px, one side 160 > 150
    expect(await codeOf(parseImageInput(jpeg.toString('base64'), 'selfie', small))).toBe('IMAGE_TOO_LARGE');
    const square = await noisyJpeg(120, 120); // sides OK, 14400 px > 10000
    expect(await codeOf(parseImageInput(square.toString('base64'), 'selfie', small))).toBe('IMAGE_TOO_LARGE');
    const ok = await noisyJpeg(100, 100);
    expect(await codeOf(parseImageInput(ok.toString('base64'), 'selfie', { ...small, maxBytes: 1 << 20 }))).toBe('ACCEPTED');
  });

  it('dimension limits apply to the oriented size too (a 12000×10 strip rotated is 10×12000)', async () => {
    const strip = await sharp({ create: { width: 20, height: 10, channels: 3, background: '#777' } })
      .jpeg().withMetadata({ orientation: 6 }).toBuffer();
    expect(await codeOf(parseImageInput(strip.toString('base64'), 'selfie', { ...DEFAULT_IMAGE_LIMITS, maxDimension: 19 }))).toBe('IMAGE_TOO_LARGE');
    expect(await codeOf(parseImageInput(strip.toString('base64'), 'selfie', { ...DEFAULT_IMAGE_LIMITS, maxDimension: 20 }))).toBe('ACCEPTED');
  });
});

describe('cost discipline: bombs are refused from the header, before any pixel is decoded', () => {
  // Sharp instances share sharp.prototype: spying on toBuffer sees every decode/encode pipeline.
  const spyDecode = () => jest.spyOn(sharp.prototype as { toBuffer: () => unknown }, 'toBuffer');

  it('sanity: a normal image does go through one decode', async () => {
    const value = (await noisyJpeg(64, 48)).toString('base64');
    const decode = spyDecode();
    await parseImageInput(value, 'selfie');
    expect(decode).toHaveBeenCalledTimes(1);
  });

  it.each([
    ['PNG 30000×30000 with a tiny IDAT', () => craftPng({ width: 30000, height: 30000 })],
    ['complete 1-bit PNG 12000×12000 (144 Mpx)', () => oneBitBombPng(12000, 12000)],
    ['PNG 8000×6000 (48 Mpx)', () => craftPng({ width: 8000, height: 6000 })],
  ])('%s → IMAGE_TOO_LARGE, never decoded', async (_name, make) => {
    const value = make().toString('base64');
    const decode = spyDecode();
    expect(await codeOf(parseImageInput(value, 'selfie'))).toBe('IMAGE_TOO_LARGE');
    expect(decode).not.toHaveBeenCalled();
  });

  it('a JPEG declaring 20000×20000 → IMAGE_TOO_LARGE, never decoded', async () => {
    const value = patchJpegDimensions(await noisyJpeg(64, 48), 20000, 20000).toString('base64');
    const decode = spyDecode();
    expect(await codeOf(parseImageInput(value, 'selfie'))).toBe('IMAGE_TOO_LARGE');
    expect(decode).not.toHaveBeenCalled();
  });

  it('a JPEG with a flood of scans (progressive-JPEG CPU bomb) is refused before decoding', async () => {
    const sos = Buffer.from([0xff, 0xda, 0, 8, 1, 1, 0, 0, 0x3f, 0, 0x12]);
    const flood = Buffer.concat([jpegHeadersOnly(await noisyJpeg(64, 48)), ...Array.from({ length: 600 }, () => sos), Buffer.from([0xff, 0xd9])]);
    const decode = spyDecode();
    expect(await codeOf(parseImageInput(flood.toString('base64'), 'selfie'))).toBe('BAD_IMAGE');
    expect(decode).not.toHaveBeenCalled();
  });

  it('a 20 MB string is refused without base64-decoding it', async () => {
    const value = 'A'.repeat(20 * 1024 * 1024);
    const from = jest.spyOn(Buffer, 'from');
    expect(await codeOf(parseImageInput(value, 'selfie'))).toBe('IMAGE_TOO_LARGE');
    expect(from).not.toHaveBeenCalled();
  });
});

describe('errors', () => {
  it('carry the field and never the payload', async () => {
    const jpeg = await noisyJpeg(64, 48);
    const value = `data:image/jpeg;base64,${jpeg.subarray(0, 300).toString('base64')}`;
    let err: VerigateError | undefined;
    try {
      await parseImageInput(value, 'target');
    } catch (e) {
      err = e as VerigateError;
    }
    expect(err).toBeInstanceOf(VerigateError);
    expect(err!.extensions).toEqual({ code: 'BAD_IMAGE', field: 'target' });
    expect(err!.message).toMatch(/^Image "target" /);
    expect(err!.message).not.toContain(jpeg.subarray(0, 12).toString('base64'));
    expect(JSON.stringify(err!.toJSON())).not.toMatch(/VipsJpeg|base64,/); // libvips' reason is not sent to clients
  });

  it('a non-string value is BAD_USER_INPUT, not a crash', async () => {
    expect(await codeOf(parseImageInput(undefined as unknown as string, 'selfie'))).toBe('BAD_USER_INPUT');
    expect(await codeOf(parseImageInput(42 as unknown as string, 'selfie'))).toBe('BAD_USER_INPUT');
  });
});
