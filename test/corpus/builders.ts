/**
 * Byte-level builders for the hostile corpus: hand-made PNG chunks (with correct CRCs), GIF, BMP,
 * ISO-BMFF headers, and JPEG surgery. Everything is generated in memory.
 */
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(buf: Buffer): number {
  let crc = 0xffffffff;
  for (const b of buf) crc = CRC_TABLE[(crc ^ b) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export const u32be = (...values: number[]): Buffer => {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, 4 * i));
  return b;
};

/** One PNG chunk: length, type, data, CRC over type+data (or a deliberately wrong CRC). */
export function pngChunk(type: string, data: Buffer, opts: { badCrc?: boolean } = {}): Buffer {
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = crc32(typeAndData);
  return Buffer.concat([u32be(data.length), typeAndData, u32be(opts.badCrc ? crc ^ 0xdeadbeef : crc)]);
}

/** IHDR payload. colorType 0 = grey, 2 = RGB. */
export const ihdr = (width: number, height: number, bitDepth = 8, colorType = 2): Buffer =>
  Buffer.concat([u32be(width, height), Buffer.from([bitDepth, colorType, 0, 0, 0])]);

export interface PngParts {
  width: number;
  height: number;
  bitDepth?: number;
  colorType?: number;
  /** IDAT payload (already deflated); default: a tiny deflate stream of 1000 zero bytes */
  idat?: Buffer;
  /** chunks inserted between IHDR and IDAT */
  before?: Buffer[];
  /** chunks inserted between IDAT and IEND */
  after?: Buffer[];
  badIhdrCrc?: boolean;
}

/** A PNG assembled from parts: the header can declare anything, the data is whatever we say. */
export function craftPng(p: PngParts): Buffer {
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', ihdr(p.width, p.height, p.bitDepth ?? 8, p.colorType ?? 2), { badCrc: p.badIhdrCrc }),
    ...(p.before ?? []),
    pngChunk('IDAT', p.idat ?? deflateSync(Buffer.alloc(1000))),
    ...(p.after ?? []),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Raw (unfiltered, filter byte 0 per row) scanlines of a solid grey 8-bit image, deflated. */
export function solidGreyIdat(width: number, height: number, value = 0x80): Buffer {
  const row = width + 1;
  const raw = Buffer.alloc(row * height, value);
  for (let y = 0; y < height; y++) raw[y * row] = 0;
  return deflateSync(raw, { level: 9 });
}

/** The deflated scanlines of a patterned 8-bit RGB image, with the zlib Adler-32 trailer cut off or corrupted. */
export function brokenZlibIdat(width: number, height: number, how: 'no-adler' | 'bad-adler'): Buffer {
  const row = width * 3 + 1;
  const raw = Buffer.alloc(row * height);
  for (let i = 0; i < raw.length; i++) raw[i] = (i * 7919) & 0xff;
  for (let y = 0; y < height; y++) raw[y * row] = 0;
  const z = deflateSync(raw);
  if (how === 'no-adler') return z.subarray(0, z.length - 4);
  const out = Buffer.from(z);
  out[out.length - 1]! ^= 1;
  return out;
}

/**
 * A genuine decompression bomb: a COMPLETE, valid 1-bit greyscale PNG of width×height whose all-zero
 * scanlines deflate ~1000:1 (12000×12000 → ~18 MB raw 1-bit, ~144 MB once libvips expands it to 8-bit,
 * ~20 KB on the wire).
 */
export function oneBitBombPng(width: number, height: number): Buffer {
  const rowBytes = 1 + Math.ceil(width / 8);
  const raw = Buffer.alloc(rowBytes * height); // filter 0 and all-black pixels: all zero
  return craftPng({ width, height, bitDepth: 1, colorType: 0, idat: deflateSync(raw, { level: 9 }) });
}

/** A 2-frame APNG (acTL before IDAT, second frame in fdAT). */
export function apng(width = 16, height = 16): Buffer {
  const idat = solidGreyIdat(width * 3, height); // 8-bit RGB rows of width*3 bytes
  const fctl = (seq: number) => Buffer.concat([u32be(seq, width, height, 0, 0), Buffer.from([0, 1, 0, 10, 0, 0])]);
  return craftPng({
    width, height,
    idat,
    before: [pngChunk('acTL', u32be(2, 0)), pngChunk('fcTL', fctl(0))],
    after: [pngChunk('fcTL', fctl(1)), pngChunk('fdAT', Buffer.concat([u32be(2), idat]))],
  });
}

/** A minimal GIF89a, 1×1, with `frames` image blocks (2+ makes it animated, with a NETSCAPE loop extension). */
export function gif(frames = 1): Buffer {
  const header = Buffer.from('GIF89a', 'latin1');
  const lsd = Buffer.from([1, 0, 1, 0, 0x80, 0, 0]); // 1×1, global colour table of 2 entries
  const gct = Buffer.from([0, 0, 0, 0xff, 0xff, 0xff]);
  const loop = Buffer.from([0x21, 0xff, 0x0b, ...Buffer.from('NETSCAPE2.0', 'latin1'), 3, 1, 0, 0, 0]);
  const frame = Buffer.from([
    0x21, 0xf9, 4, 0, 10, 0, 0, 0, // graphic control: 100 ms delay
    0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0, // image descriptor 1×1
    2, 2, 0x44, 0x01, 0, // LZW min code size 2, one 2-byte sub-block, terminator
  ]);
  const blocks = Array.from({ length: frames }, () => frame);
  return Buffer.concat([header, lsd, gct, ...(frames > 1 ? [loop] : []), ...blocks, Buffer.from([0x3b])]);
}

/** A 2×2 24-bit BMP. */
export function bmp(): Buffer {
  const rowSize = 8; // 2 px × 3 bytes, padded to 4
  const pixels = Buffer.alloc(rowSize * 2, 0x7f);
  const fileHeader = Buffer.alloc(14);
  fileHeader.write('BM', 0, 'latin1');
  fileHeader.writeUInt32LE(14 + 40 + pixels.length, 2);
  fileHeader.writeUInt32LE(14 + 40, 10);
  const info = Buffer.alloc(40);
  info.writeUInt32LE(40, 0);
  info.writeInt32LE(2, 4);
  info.writeInt32LE(2, 8);
  info.writeUInt16LE(1, 12);
  info.writeUInt16LE(24, 14);
  info.writeUInt32LE(pixels.length, 20);
  return Buffer.concat([fileHeader, info, pixels]);
}

/** The start of a HEIC file: an ftyp box with the 'heic' brand, then junk (enough for any sniffer). */
export function heicHeader(): Buffer {
  const ftyp = Buffer.concat([u32be(24), Buffer.from('ftypheic', 'latin1'), u32be(0), Buffer.from('mif1heic', 'latin1')]);
  return Buffer.concat([ftyp, u32be(8), Buffer.from('meta', 'latin1'), Buffer.alloc(64)]);
}

/** A small, hand-written but well-formed PDF. */
export function pdf(): Buffer {
  return Buffer.from(
    '%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n' +
      '3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 10 10]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n',
    'latin1',
  );
}

export const SVG = Buffer.from(
  '<svg xmlns="http://www.w3.org/2000/svg" width="100" height="100"><script>alert(1)</script>' +
    '<rect width="100" height="100" fill="red"/></svg>',
);
export const SVG_WITH_PROLOG = Buffer.from(
  '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">\n' +
    '<svg xmlns="http://www.w3.org/2000/svg" width="20000" height="20000"/>',
);

/** A photo-like JPEG (gaussian noise, so the entropy-coded data is substantial). */
export function noisyJpeg(width = 160, height = 120, opts: { orientation?: number } = {}): Promise<Buffer> {
  let s = sharp({ create: { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } })
    .jpeg({ quality: 85 });
  if (opts.orientation) s = s.withMetadata({ orientation: opts.orientation });
  return s.toBuffer();
}

export function noisyPng(width = 96, height = 64): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } })
    .png()
    .toBuffer();
}

/** Offset of the SOS marker (start of entropy-coded data header) in a JPEG. */
export function jpegSosOffset(jpeg: Buffer): number {
  let off = 2;
  while (off + 4 <= jpeg.length) {
    const marker = jpeg[off + 1]!;
    if (marker === 0xda) return off;
    off += 2 + jpeg.readUInt16BE(off + 2);
  }
  throw new Error('no SOS');
}

/** Everything up to and including the SOS header: the JPEG "headers only", no scan data, no EOI. */
export function jpegHeadersOnly(jpeg: Buffer): Buffer {
  const sos = jpegSosOffset(jpeg);
  return jpeg.subarray(0, sos + 2 + jpeg.readUInt16BE(sos + 2));
}

/** Overwrite the dimensions in the first SOF0/SOF2 of a JPEG (the data stays the original size). */
export function patchJpegDimensions(jpeg: Buffer, width: number, height: number): Buffer {
  const out = Buffer.from(jpeg);
  let off = 2;
  while (off + 4 <= out.length) {
    const marker = out[off + 1]!;
    if (marker === 0xc0 || marker === 0xc2) {
      out.writeUInt16BE(height, off + 5);
      out.writeUInt16BE(width, off + 7);
      return out;
    }
    off += 2 + out.readUInt16BE(off + 2);
  }
  throw new Error('no SOF');
}

/** Deterministic pseudo-random bytes (xorshift), so the corpus is identical on every run. */
export function pseudoRandomBytes(n: number, seed = 0x9e3779b9): Buffer {
  const out = Buffer.alloc(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5; x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export const dataUri = (mediaType: string, bytes: Buffer): string => `data:${mediaType};base64,${bytes.toString('base64')}`;
export const b64 = (bytes: Buffer): string => bytes.toString('base64');
