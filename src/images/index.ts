/**
 * Untrusted image input → validated `ImageInput`.
 *
 * Pipeline (each step refuses before the next, more expensive one runs):
 *   1. unwrap an optional `data:` URI (label ignored, see base64.ts) and bound the decoded size from
 *      the string length alone → IMAGE_TOO_LARGE without decoding;
 *   2. strict base64 decode → BAD_USER_INPUT on junk;
 *   3. magic bytes → JPEG or PNG only, anything else UNSUPPORTED_IMAGE_FORMAT naming what it is;
 *   4. our own header read (JPEG SOFn + EXIF orientation / PNG IHDR + acTL), then — for a PNG, or a
 *      JPEG whose segments we could not read whole — sharp's metadata() with limitInputPixels:
 *      declared dimensions over the limits → IMAGE_TOO_LARGE, animated → UNSUPPORTED.
 *      Neither reads pixel data, so a decompression bomb (tiny file declaring 30000×30000) costs
 *      microseconds and no pixel memory;
 *   5. a JPEG must end (EOI after its scan data), then one decode proves the pixel data is intact
 *      → BAD_IMAGE (see `verifyDecodes`).
 * The EXIF orientation is read, not applied: the bytes go on as received, with their orientation.
 * The local engine applies it while it decodes (no extra cost); a provider that may not honour
 * EXIF (a remote API) sends `uprightBytes(image)`, re-encoded once when it first asks.
 */
import { createHash } from 'node:crypto';
import sharp, { type Metadata, type SharpOptions } from 'sharp';
import { swapsSides, type ImageInput } from '../../providers/types';
import { VerigateError, type ErrorCode } from '../errors';
import { decodeBase64Strict, unwrapDataUri } from './base64';
import { jpegHasEndAfterScan, jpegScanCount, readJpegHeader, readPngHeader } from './headers';
import { describeFormat, sniffFormat } from './sniff';

export { sniffFormat, describeFormat, type SniffedFormat } from './sniff';
export { decodeBase64Strict, unwrapDataUri } from './base64';
export { jpegHasEndAfterScan, jpegScanCount, readJpegHeader, readPngHeader } from './headers';

export interface ImageLimits {
  /** decoded (binary) size limit */
  maxBytes: number;
  /** width × height limit, also passed to sharp as limitInputPixels */
  maxPixels: number;
  /** limit on either side, in pixels */
  maxDimension: number;
}

export const DEFAULT_IMAGE_LIMITS: Readonly<ImageLimits> = Object.freeze({
  maxBytes: 10 * 1024 * 1024,
  maxPixels: 40_000_000,
  maxDimension: 12_000,
});

/**
 * Decode verification happens at reduced size: the image is decoded to fit a VERIFY_BOX² box.
 * For JPEG this is libjpeg's DCT-domain shrink-on-load (1/8 scale): every entropy-coded byte is still
 * Huffman-decoded, so truncation and stream corruption are detected exactly as by a full decode (we
 * checked 200 randomly corrupted files: identical verdicts), but the IDCT/colour conversion runs on 1/64
 * of the pixels. Measured on a 4000×3000 (12 Mpx) JPEG, 2-core box, sharp 0.35.5 / libvips 8.18:
 * full decode to raw ≈ 55 ms and +36 MB, shrink-on-load verify ≈ 16 ms, metadata() ≈ 0.4 ms; the
 * whole parseImageInput ≈ 22 ms (base64 decode ≈ 1 ms). Turning an EXIF-rotated image upright
 * costs a full decode + rotate + re-encode (≈ 215 ms for the same 12 Mpx), which is why it is left
 * to `uprightBytes`, for the consumers that need it. `failOn: 'truncated'` alone was
 * not an option: failOn only matters while pixels are decoded, so some decode has to run anyway.
 * PNG has no shrink-on-load (inflate + unfilter dominate: ≈ 85 ms for 12 Mpx either way), but the
 * resize keeps libvips streaming (sequential read) so the full bitmap is never held in memory.
 */
const VERIFY_BOX = 256;
/** libvips stops a pipeline after this long; a pathological file (e.g. thousands of progressive scans) is a BAD_IMAGE */
const DECODE_TIMEOUT_SECONDS = 10;
const JPEG_REENCODE_QUALITY = 95;
/** see jpegScanCount: real progressive JPEGs have ~10 scans */
const MAX_JPEG_SCANS = 500;

type Accepted = 'jpeg' | 'png';

/**
 * Parse one image field sent by a client: a base64 string or a `data:<type>;base64,` URI.
 *
 * - `format`, `width`, `height` come from the bytes; width/height are the displayed (EXIF-oriented) ones.
 * - `bytes` are the received bytes unchanged; `orientation` is their EXIF orientation (2..8 turn or
 *   mirror the stored pixels for display; anything else counts as 1).
 * - `sha256` is the hex SHA-256 of the base64-DECODED bytes (the client's file): the audit trace of
 *   what the client sent, which the client can reproduce with `sha256sum`.
 *
 * Errors are `VerigateError`s with `{ field }`: BAD_USER_INPUT (not base64 / malformed data URI),
 * IMAGE_TOO_LARGE, UNSUPPORTED_IMAGE_FORMAT, BAD_IMAGE. Messages never contain the input.
 */
export async function parseImageInput(
  value: string,
  field: string,
  limits: ImageLimits = DEFAULT_IMAGE_LIMITS,
  /**
   * Decode a JPEG's pixels here to prove they decode (default). The server turns it off
   * (VERIGATE_EDGE_DECODE=false) because the consumer decodes anyway — the local engine in its
   * worker, remote providers on their side — so a JPEG costs one decode, not two; its format,
   * dimensions, pixel limit, truncation and scan count are still checked here. PNGs are always
   * decoded here (their zlib integrity cannot be checked otherwise).
   */
  verifyPixels = true,
  /** awaited with the image's decoded size before any pixel is decoded (the heavy-image bulkhead) */
  admit?: (decodedBytes: number) => Promise<void>,
): Promise<ImageInput> {
  if (typeof value !== 'string') {
    throw new VerigateError('BAD_USER_INPUT', `Image "${field}" must be a base64 string or a data URI`, { field });
  }
  const { payload } = unwrapDataUri(value, field);
  return imageFromBytes(decodeBase64Strict(payload, field, limits.maxBytes), field, limits, verifyPixels, admit);
}

/**
 * The checks of `parseImageInput` on bytes that arrived as bytes (a multipart file part, or a
 * liveness session's reference image from its provider).
 */
export async function imageFromBytes(
  received: Buffer,
  field: string,
  limits: ImageLimits = DEFAULT_IMAGE_LIMITS,
  verifyPixels = true,
  admit?: (decodedBytes: number) => Promise<void>,
): Promise<ImageInput> {
  if (received.length > limits.maxBytes) throw fail('IMAGE_TOO_LARGE', field, `is ${received.length} bytes; the limit is ${limits.maxBytes} bytes`);
  if (received.length === 0) throw fail('BAD_IMAGE', field, 'is empty');

  const found = sniffFormat(received);
  if (found !== 'jpeg' && found !== 'png') {
    throw fail('UNSUPPORTED_IMAGE_FORMAT', field, `is ${describeFormat(found)}; only JPEG and PNG are accepted`);
  }
  const format: Accepted = found;
  const NAME = format.toUpperCase();

  // First line: our own header read, before libvips sees anything.
  const jpegHeader = format === 'jpeg' ? readJpegHeader(received) : null;
  const declared = format === 'png' ? readPngHeader(received) : jpegHeader;
  if (declared) {
    checkDimensions(declared.width, declared.height, field, limits, NAME);
    if (declared.animated) {
      const frames = declared.frames !== undefined ? `, ${declared.frames} frames` : '';
      throw fail('UNSUPPORTED_IMAGE_FORMAT', field, `is an animated PNG (APNG${frames}); only still images are accepted`);
    }
  }

  // Second line: libvips' header parse with the pixel limit. Reads no pixel data. Not needed for a
  // JPEG whose marker segments we read whole up to its scan (headers.ts): they say all it would.
  const options: SharpOptions = { limitInputPixels: Math.floor(limits.maxPixels), failOn: 'error' };
  const jpeg = jpegHeader?.complete ? jpegHeader : undefined;
  let meta: Pick<Metadata, 'format' | 'width' | 'height' | 'orientation' | 'channels' | 'depth' | 'pages'>;
  if (jpeg) {
    meta = { format: 'jpeg', width: jpeg.width, height: jpeg.height, orientation: jpeg.orientation, channels: jpeg.components as 1 | 3 | 4, depth: 'uchar', pages: 1 };
  } else {
    try {
      meta = await sharp(received, options).metadata();
    } catch (e) {
      throw fromSharp(e, field, limits, NAME);
    }
  }
  if (meta.format !== format) throw fail('BAD_IMAGE', field, `starts like ${NAME} but could not be read as one`);
  if ((meta.pages ?? 1) > 1) {
    throw fail('UNSUPPORTED_IMAGE_FORMAT', field, `has ${meta.pages} pages/frames; only single still images are accepted`);
  }
  checkDimensions(meta.width, meta.height, field, limits, NAME);
  // libjpeg accepts a JPEG cut right after its last MCU depending on the final bits: refuse it
  // deterministically. (PNG needs no such check: the decode verifies the zlib stream's end and
  // Adler-32, so all pixel data is there; a PNG missing only its IEND chunk is tolerated.)
  if (format === 'jpeg' && !jpegHasEndAfterScan(received)) {
    throw fail('BAD_IMAGE', field, 'is a truncated JPEG (no end-of-image marker after the image data)');
  }
  if (format === 'jpeg' && jpegScanCount(received, MAX_JPEG_SCANS + 1) > MAX_JPEG_SCANS) {
    throw fail('BAD_IMAGE', field, `is a JPEG with more than ${MAX_JPEG_SCANS} scans; it is probably malicious`);
  }

  const orientation = meta.orientation !== undefined && meta.orientation >= 2 && meta.orientation <= 8 ? meta.orientation : 1;
  const [width, height] = swapsSides(orientation) ? [meta.height, meta.width] : [meta.width, meta.height];
  const decodedBytes = width * height * (meta.channels ?? 3) * (meta.depth === 'ushort' ? 2 : 1);
  await admit?.(decodedBytes);
  if (verifyPixels || format === 'png') {
    // a PNG's zlib stream can only be checked by inflating it, so PNGs are always decoded here;
    // a JPEG's structure (markers, end of image, scan count) is checked above from its bytes
    try {
      await verifyDecodes(received, options);
    } catch (e) {
      throw fromSharp(e, field, limits, NAME);
    }
  }

  const sha256 = createHash('sha256').update(received).digest('hex');
  return { bytes: received, format, width, height, orientation, sha256, decodedBytes };
}

const uprights = new WeakMap<ImageInput, Promise<Buffer>>();

/**
 * The image with its EXIF orientation applied to the pixels, for a consumer that may not honour
 * EXIF (a remote provider): `bytes` themselves when the orientation is 1, else the image re-encoded
 * upright in the same format (EXIF and other metadata stripped, sRGB). That costs a full decode and
 * encode (~200 ms for a 12 Mpx photo), so it is made once per image, on first call. Rejects with a
 * BAD_IMAGE `VerigateError` when the pixels do not decode.
 */
export function uprightBytes(image: ImageInput): Promise<Buffer> {
  if (image.orientation === 1) return Promise.resolve(image.bytes);
  let made = uprights.get(image);
  if (!made) {
    // the image passed the edge's limits: its own pixel count bounds the decode (0 would mean none)
    const options: SharpOptions = { limitInputPixels: Math.max(1, image.width * image.height), failOn: 'error' };
    const pipeline = sharp(image.bytes, options).timeout({ seconds: DECODE_TIMEOUT_SECONDS }).autoOrient();
    made = (image.format === 'jpeg' ? pipeline.jpeg({ quality: JPEG_REENCODE_QUALITY }) : pipeline.png())
      .toBuffer()
      .catch((e: unknown) => Promise.reject(fromSharp(e, 'image', DEFAULT_IMAGE_LIMITS, image.format.toUpperCase())));
    uprights.set(image, made);
  }
  return made;
}

/** One reduced-size decode of the whole image (see VERIFY_BOX). Throws sharp's error on bad data. */
async function verifyDecodes(buf: Buffer, options: SharpOptions): Promise<void> {
  await sharp(buf, options)
    .timeout({ seconds: DECODE_TIMEOUT_SECONDS })
    .resize(VERIFY_BOX, VERIFY_BOX, { fit: 'inside', withoutEnlargement: true, fastShrinkOnLoad: true })
    .raw()
    .toBuffer();
}

function checkDimensions(width: number, height: number, field: string, limits: ImageLimits, NAME: string): void {
  if (!(width > 0 && height > 0)) throw fail('BAD_IMAGE', field, `is a ${NAME} with zero width or height`);
  if (width > limits.maxDimension || height > limits.maxDimension) {
    throw fail('IMAGE_TOO_LARGE', field,
      `is ${width}×${height} pixels; each side must be at most ${limits.maxDimension} pixels`);
  }
  if (width * height > limits.maxPixels) {
    throw fail('IMAGE_TOO_LARGE', field,
      `is ${width}×${height} pixels (${(width * height / 1e6).toFixed(1)} Mpx); the limit is ${(limits.maxPixels / 1e6).toFixed(1)} Mpx`);
  }
}

function fromSharp(e: unknown, field: string, limits: ImageLimits, NAME: string): VerigateError {
  const msg = e instanceof Error ? e.message : String(e);
  let err: VerigateError;
  if (/pixel limit/i.test(msg)) {
    err = fail('IMAGE_TOO_LARGE', field, `declares more than the ${(limits.maxPixels / 1e6).toFixed(1)} Mpx limit`);
  } else if (/timeout/i.test(msg)) {
    err = fail('BAD_IMAGE', field, `took too long to decode (over ${DECODE_TIMEOUT_SECONDS} s); it is probably malformed`);
  } else {
    err = fail('BAD_IMAGE', field, `is a corrupt or truncated ${NAME}: it could not be decoded`);
  }
  // Keep libvips' reason for server-side logs only: `cause` is not serialised to clients.
  Object.defineProperty(err, 'cause', { value: e, enumerable: false, configurable: true });
  return err;
}

function fail(code: ErrorCode, field: string, what: string): VerigateError {
  return new VerigateError(code, `Image "${field}" ${what}`, { field });
}

