import sharp from 'sharp';
import { jpegHasEndAfterScan, jpegScanCount, readJpegHeader, readPngHeader, sniffFormat } from '../../src/images';
import {
  apng, bmp, craftPng, gif, heicHeader, jpegHeadersOnly, noisyJpeg, patchJpegDimensions, pdf, pseudoRandomBytes, SVG, SVG_WITH_PROLOG,
} from '../corpus/builders';

const make = (fmt: 'jpeg' | 'png' | 'gif' | 'webp' | 'tiff' | 'avif') =>
  sharp({ create: { width: 8, height: 8, channels: 3, background: '#123456' } })[fmt]().toBuffer();

describe('sniffFormat', () => {
  it.each(['jpeg', 'png', 'gif', 'webp', 'tiff', 'avif'] as const)('recognises %s made by sharp', async (fmt) => {
    expect(sniffFormat(await make(fmt))).toBe(fmt);
  });

  it.each<[string, () => Buffer, string | null]>([
    ['hand-made GIF', () => gif(2), 'gif'],
    ['APNG (still a PNG by magic)', () => apng(), 'png'],
    ['BMP', bmp, 'bmp'],
    ['HEIC ftyp', heicHeader, 'heic'],
    ['PDF', pdf, 'pdf'],
    ['SVG', () => SVG, 'svg'],
    ['SVG with prolog and doctype', () => SVG_WITH_PROLOG, 'svg'],
    ['SVG with a UTF-8 BOM and leading whitespace', () => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('\n  '), SVG]), 'svg'],
    ['HTML', () => Buffer.from('<!doctype html><p>hi'), 'html'],
    ['XML', () => Buffer.from('<?xml version="1.0"?><a/>'), 'xml'],
    ['plain text', () => Buffer.from('just some words\n'), 'text'],
    ['UTF-8 text', () => Buffer.from('Grüße aus Köln — 東京\n'), 'text'],
    ['ZIP', () => Buffer.from([0x50, 0x4b, 0x03, 0x04, 0, 0]), 'zip'],
    ['gzip', () => Buffer.from([0x1f, 0x8b, 8, 0]), 'gzip'],
    ['MP4', () => Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypisom'), Buffer.alloc(12)]), 'mp4'],
    ['PSD', () => Buffer.from('8BPS\u0000\u0001'), 'psd'],
    ['JPEG XL codestream', () => Buffer.from([0xff, 0x0a, 0, 0]), 'jxl'],
    ['JPEG 2000', () => Buffer.from([0, 0, 0, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a]), 'jp2'],
    ['random bytes', () => pseudoRandomBytes(512), null],
    ['empty', () => Buffer.alloc(0), null],
    ['two bytes of a JPEG magic', () => Buffer.from([0xff, 0xd8]), null],
    ['seven bytes of a PNG signature', () => Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a]), null],
  ])('%s → %s', (_name, bytes, expected) => {
    expect(sniffFormat(bytes())).toBe(expected);
  });
});

describe('header readers', () => {
  it('readPngHeader reads IHDR and finds acTL', () => {
    expect(readPngHeader(craftPng({ width: 30000, height: 20 }))).toMatchObject({ width: 30000, height: 20, animated: false });
    expect(readPngHeader(apng(5, 7))).toEqual({ width: 5, height: 7, animated: true, frames: 2 });
    expect(readPngHeader(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBeNull();
  });

  it('readJpegHeader reads SOF (after APPn/DQT segments) and the EXIF orientation, and stops at SOS', async () => {
    const jpeg = await noisyJpeg(123, 45);
    const plain = { width: 123, height: 45, components: 3, precision: 8, orientation: 1, complete: true };
    expect(readJpegHeader(jpeg)).toEqual(plain);
    expect(readJpegHeader(patchJpegDimensions(jpeg, 20000, 1))).toMatchObject({ width: 20000, height: 1 });
    expect(readJpegHeader(Buffer.from([0xff, 0xd8, 0xff]))).toBeNull();
    // an EXIF thumbnail's SOF is inside APP1 and must not be mistaken for the main one
    for (const orientation of [3, 6, 8]) {
      const withExif = await sharp(jpeg).withMetadata({ orientation }).jpeg().toBuffer();
      expect(readJpegHeader(withExif)).toEqual({ ...plain, orientation });
      expect((await sharp(withExif).metadata()).orientation).toBe(orientation);
    }
    const grey = await sharp(jpeg).toColourspace('b-w').jpeg().toBuffer();
    expect((await sharp(grey).metadata()).channels).toBe(1);
    expect(readJpegHeader(grey)).toMatchObject({ components: 1, complete: true });
    // headers cut before the scan: the size is known, the walk is not complete (libvips is asked)
    expect(readJpegHeader(jpegHeadersOnly(jpeg).subarray(0, jpegHeadersOnly(jpeg).length - 4))).toMatchObject({ width: 123, height: 45, complete: false });
  });

  it('jpegHasEndAfterScan: complete JPEG yes, missing EOI or headers only no, trailing data fine', async () => {
    const jpeg = await noisyJpeg(64, 48);
    expect(jpegHasEndAfterScan(jpeg)).toBe(true);
    expect(jpegHasEndAfterScan(jpeg.subarray(0, jpeg.length - 2))).toBe(false);
    expect(jpegHasEndAfterScan(jpegHeadersOnly(jpeg))).toBe(false);
    expect(jpegHasEndAfterScan(Buffer.concat([jpeg, Buffer.from('trailer appended by a phone')]))).toBe(true);
  });

  it('jpegScanCount: 1 for baseline, ~10 for progressive, capped count for a scan flood', async () => {
    expect(jpegScanCount(await noisyJpeg(64, 48))).toBe(1);
    const progressive = await sharp({ create: { width: 64, height: 48, channels: 3, background: '#345' } }).jpeg({ progressive: true }).toBuffer();
    expect(jpegScanCount(progressive)).toBeGreaterThan(2);
    expect(jpegScanCount(progressive)).toBeLessThan(20);
    const flood = Buffer.concat([jpegHeadersOnly(await noisyJpeg(64, 48)), ...Array.from({ length: 700 }, () => Buffer.from([0xff, 0xda, 0, 8, 1, 1, 0, 0, 0x3f, 0, 0x12]))]);
    expect(jpegScanCount(flood)).toBe(701);
    expect(jpegScanCount(flood, 501)).toBe(501);
  });
});
