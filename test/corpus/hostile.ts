/**
 * Hostile image inputs, as a client would send them in an image field (base64 or data URI), each
 * with the error code the gateway must answer. Generated in memory on first use (≈ 60 MB of strings
 * because of the three 20 MB entries); call `buildHostileCorpus()` once per test file.
 *
 * Codes assume DEFAULT_IMAGE_LIMITS (10 MiB, 40 Mpx, 12000 px per side). Over HTTP, the 20 MB entries
 * may be stopped earlier by the server's body-size limit (PAYLOAD_TOO_LARGE / HTTP 413): that is
 * also a correct refusal; `bodyLimitMayApply` marks them.
 *
 * `buildValidCorpus()` holds the tricky inputs that must be ACCEPTED (label mismatch, line-wrapped
 * base64, EXIF rotation…), with what parseImageInput must return.
 */
import { createHash } from 'node:crypto';
import sharp from 'sharp';
import type { ErrorCode } from '../../src/errors';
import {
  apng, b64, bmp, brokenZlibIdat, craftPng, dataUri, gif, heicHeader, jpegHeadersOnly, jpegSosOffset, noisyJpeg, noisyPng,
  oneBitBombPng, patchJpegDimensions, pdf, pngChunk, ihdr, PNG_SIGNATURE, pseudoRandomBytes, solidGreyIdat,
  SVG, SVG_WITH_PROLOG,
} from './builders';

export interface HostileCase {
  readonly name: string;
  /** exactly what the client sends in the image field */
  readonly value: string;
  readonly expectedCode: Extract<ErrorCode, 'BAD_IMAGE' | 'IMAGE_TOO_LARGE' | 'UNSUPPORTED_IMAGE_FORMAT' | 'BAD_USER_INPUT'>;
  /** the value is larger than a typical HTTP body limit: a 413 / PAYLOAD_TOO_LARGE is also fine */
  readonly bodyLimitMayApply?: boolean;
}

export interface ValidCase {
  readonly name: string;
  readonly value: string;
  readonly format: 'jpeg' | 'png';
  /** displayed (EXIF-oriented) size */
  readonly width: number;
  readonly height: number;
  /** hex SHA-256 of the decoded bytes as sent */
  readonly sha256: string;
  /** the EXIF orientation the gateway reports (and that `uprightBytes` applies when it is not 1) */
  readonly orientation: number;
}

const TWENTY_MB = 20 * 1024 * 1024;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let hostile: Promise<HostileCase[]> | undefined;
let valid: Promise<ValidCase[]> | undefined;

export function buildHostileCorpus(): Promise<HostileCase[]> {
  return (hostile ??= build());
}

export function buildValidCorpus(): Promise<ValidCase[]> {
  return (valid ??= buildValid());
}

async function build(): Promise<HostileCase[]> {
  const jpeg = await noisyJpeg(160, 120);
  const png = await noisyPng(96, 64);
  const jpegB64 = b64(jpeg);
  const solid = (fmt: 'gif' | 'webp' | 'tiff' | 'avif') =>
    sharp({ create: { width: 32, height: 32, channels: 3, background: '#c04040' } })[fmt]().toBuffer();
  const [webp, tiff, avif] = await Promise.all([solid('webp'), solid('tiff'), solid('avif')]);
  const sos = jpegSosOffset(jpeg);

  const cases: HostileCase[] = [
    // --- empty --------------------------------------------------------------------------------
    { name: 'empty string', value: '', expectedCode: 'BAD_IMAGE' },
    { name: 'whitespace only', value: ' \r\n\t ', expectedCode: 'BAD_IMAGE' },
    { name: 'data URI with empty payload', value: 'data:image/jpeg;base64,', expectedCode: 'BAD_IMAGE' },

    // --- broken JPEG ---------------------------------------------------------------------------
    { name: 'truncated JPEG (cut half-way through the scan data)', value: b64(jpeg.subarray(0, sos + Math.floor((jpeg.length - sos) / 2))), expectedCode: 'BAD_IMAGE' },
    { name: 'truncated JPEG (last 2 bytes, EOI, missing)', value: b64(jpeg.subarray(0, jpeg.length - 2)), expectedCode: 'BAD_IMAGE' },
    { name: 'JPEG with only its headers (up to SOS, no scan data)', value: dataUri('image/jpeg', jpegHeadersOnly(jpeg)), expectedCode: 'BAD_IMAGE' },
    { name: 'JPEG SOI marker only (FF D8 FF)', value: b64(Buffer.from([0xff, 0xd8, 0xff])), expectedCode: 'BAD_IMAGE' },
    { name: 'JPEG magic followed by random bytes', value: b64(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), pseudoRandomBytes(4000)])), expectedCode: 'BAD_IMAGE' },
    { name: 'JPEG declaring 20000×20000 (SOF patched, 160×120 of data)', value: dataUri('image/jpeg', patchJpegDimensions(jpeg, 20000, 20000)), expectedCode: 'IMAGE_TOO_LARGE' },
    { name: 'JPEG scan flood (700 SOS segments, EOI at the end)', value: b64(Buffer.concat([jpegHeadersOnly(jpeg), ...Array.from({ length: 700 }, () => Buffer.from([0xff, 0xda, 0, 8, 1, 1, 0, 0, 0x3f, 0, 0x12])), Buffer.from([0xff, 0xd9])])), expectedCode: 'BAD_IMAGE' },
    { name: 'JPEG declaring 0×120', value: b64(patchJpegDimensions(jpeg, 0, 120)), expectedCode: 'BAD_IMAGE' },

    // --- PNG bombs and oversize ----------------------------------------------------------------
    { name: 'PNG bomb: IHDR 30000×30000 RGB, tiny IDAT', value: dataUri('image/png', craftPng({ width: 30000, height: 30000 })), expectedCode: 'IMAGE_TOO_LARGE' },
    { name: 'PNG declaring 20000×20000', value: b64(craftPng({ width: 20000, height: 20000, colorType: 0, idat: solidGreyIdat(64, 4) })), expectedCode: 'IMAGE_TOO_LARGE' },
    { name: 'PNG bomb: complete valid 1-bit 12000×12000 (144 Mpx, ~20 KB)', value: b64(oneBitBombPng(12000, 12000)), expectedCode: 'IMAGE_TOO_LARGE' },
    { name: 'PNG 8000×6000 (48 Mpx: sides within limit, pixels over)', value: b64(craftPng({ width: 8000, height: 6000 })), expectedCode: 'IMAGE_TOO_LARGE' },
    { name: 'PNG 12001×1 (one side over the limit)', value: b64(craftPng({ width: 12001, height: 1, colorType: 0, idat: solidGreyIdat(12001, 1) })), expectedCode: 'IMAGE_TOO_LARGE' },
    { name: 'PNG declaring 2^31-1 × 2^31-1', value: b64(craftPng({ width: 0x7fffffff, height: 0x7fffffff })), expectedCode: 'IMAGE_TOO_LARGE' },

    // --- broken PNG ----------------------------------------------------------------------------
    { name: 'PNG truncated in the middle of IDAT', value: b64(png.subarray(0, Math.floor(png.length / 2))), expectedCode: 'BAD_IMAGE' },
    { name: 'PNG with garbage (non-deflate) IDAT, correct CRCs', value: b64(craftPng({ width: 64, height: 64, idat: pseudoRandomBytes(2000, 7) })), expectedCode: 'BAD_IMAGE' },
    { name: 'PNG with too little IDAT data for its size', value: b64(craftPng({ width: 64, height: 64, colorType: 0, idat: solidGreyIdat(64, 8) })), expectedCode: 'BAD_IMAGE' },
    { name: 'PNG whose zlib stream lacks its Adler-32 trailer (CRCs correct)', value: b64(craftPng({ width: 64, height: 64, idat: brokenZlibIdat(64, 64, 'no-adler') })), expectedCode: 'BAD_IMAGE' },
    { name: 'PNG whose zlib Adler-32 is wrong (CRCs correct)', value: b64(craftPng({ width: 64, height: 64, idat: brokenZlibIdat(64, 64, 'bad-adler') })), expectedCode: 'BAD_IMAGE' },
    { name: 'PNG with a wrong IHDR CRC', value: b64(craftPng({ width: 4, height: 4, colorType: 0, idat: solidGreyIdat(4, 4), badIhdrCrc: true })), expectedCode: 'BAD_IMAGE' },
    { name: 'PNG declaring 0×0', value: b64(craftPng({ width: 0, height: 0 })), expectedCode: 'BAD_IMAGE' },
    { name: 'PNG signature only', value: b64(PNG_SIGNATURE), expectedCode: 'BAD_IMAGE' },
    { name: 'PNG without IDAT', value: b64(Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr(4, 4, 8, 0)), pngChunk('IEND', Buffer.alloc(0))])), expectedCode: 'BAD_IMAGE' },

    // --- animated / multi-frame ------------------------------------------------------------------
    { name: 'animated PNG (APNG, 2 frames)', value: dataUri('image/png', apng()), expectedCode: 'UNSUPPORTED_IMAGE_FORMAT' },
    { name: 'animated GIF (2 frames) labelled image/jpeg', value: dataUri('image/jpeg', gif(2)), expectedCode: 'UNSUPPORTED_IMAGE_FORMAT' },

    // --- other formats, disguised ----------------------------------------------------------------
    { name: 'GIF disguised as JPEG (data URI says image/jpeg)', value: dataUri('image/jpeg', gif(1)), expectedCode: 'UNSUPPORTED_IMAGE_FORMAT' },
    { name: 'SVG (with <script>) disguised as JPEG', value: dataUri('image/jpeg', SVG), expectedCode: 'UNSUPPORTED_IMAGE_FORMAT' },
    { name: 'SVG with XML prolog and DOCTYPE, declaring 20000×20000, labelled image/png', value: dataUri('image/png', SVG_WITH_PROLOG), expectedCode: 'UNSUPPORTED_IMAGE_FORMAT' },
    { name: 'PDF disguised as JPEG', value: dataUri('image/jpeg', pdf()), expectedCode: 'UNSUPPORTED_IMAGE_FORMAT' },
    { name: 'WebP disguised as JPEG', value: dataUri('image/jpeg', webp), expectedCode: 'UNSUPPORTED_IMAGE_FORMAT' },
    { name: 'AVIF disguised as JPEG', value: dataUri('image/jpeg', avif), expectedCode: 'UNSUPPORTED_IMAGE_FORMAT' },
    { name: 'HEIC header disguised as JPEG', value: dataUri('image/jpeg', heicHeader()), expectedCode: 'UNSUPPORTED_IMAGE_FORMAT' },
    { name: 'BMP disguised as PNG', value: dataUri('image/png', bmp()), expectedCode: 'UNSUPPORTED_IMAGE_FORMAT' },
    { name: 'TIFF, bare base64', value: b64(tiff), expectedCode: 'UNSUPPORTED_IMAGE_FORMAT' },
    { name: 'valid text file (bare base64)', value: b64(Buffer.from('Name: Jane Doe\nDate of birth: 1990-01-01\nThis is not an image.\n')), expectedCode: 'UNSUPPORTED_IMAGE_FORMAT' },
    { name: 'HTML page disguised as JPEG', value: dataUri('image/jpeg', Buffer.from('<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>')), expectedCode: 'UNSUPPORTED_IMAGE_FORMAT' },
    { name: 'ZIP archive disguised as PNG', value: dataUri('image/png', Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), pseudoRandomBytes(200, 3)])), expectedCode: 'UNSUPPORTED_IMAGE_FORMAT' },
    { name: 'random binary bytes', value: b64(pseudoRandomBytes(3000, 11)), expectedCode: 'UNSUPPORTED_IMAGE_FORMAT' },
    { name: 'JPEG bytes preceded by one zero byte', value: b64(Buffer.concat([Buffer.from([0]), jpeg])), expectedCode: 'UNSUPPORTED_IMAGE_FORMAT' },

    // --- data URI with a wrong / non-image media type ------------------------------------------
    { name: 'data URI with wrong media type: text/plain, text content', value: dataUri('text/plain', Buffer.from('hello, world\n')), expectedCode: 'UNSUPPORTED_IMAGE_FORMAT' },
    { name: 'data URI with wrong media type: application/pdf, PDF content', value: dataUri('application/pdf', pdf()), expectedCode: 'UNSUPPORTED_IMAGE_FORMAT' },
    { name: 'data URI with wrong media type: image/png, GIF content', value: dataUri('image/png', gif(1)), expectedCode: 'UNSUPPORTED_IMAGE_FORMAT' },
    { name: 'data URI with wrong media type: image/svg+xml, SVG content', value: dataUri('image/svg+xml', SVG), expectedCode: 'UNSUPPORTED_IMAGE_FORMAT' },

    // --- not base64 / malformed data URIs --------------------------------------------------------
    { name: 'base64 with junk characters (*, !, %) inserted', value: jpegB64.slice(0, 100) + '*!%' + jpegB64.slice(100), expectedCode: 'BAD_USER_INPUT' },
    { name: 'base64 with a NUL and a non-ASCII character', value: jpegB64.slice(0, 40) + '\u0000é' + jpegB64.slice(40), expectedCode: 'BAD_USER_INPUT' },
    { name: 'URL-safe base64 (- and _)', value: jpegB64.replace(/\+/g, '-').replace(/\//g, '_'), expectedCode: 'BAD_USER_INPUT' },
    { name: 'base64 with "=" padding in the middle', value: jpegB64.slice(0, 400) + '==' + jpegB64.slice(400), expectedCode: 'BAD_USER_INPUT' },
    { name: 'base64 of impossible length (4n+1)', value: jpegB64.replace(/=+$/, '').slice(0, 4 * 100 + 1), expectedCode: 'BAD_USER_INPUT' },
    { name: 'a URL instead of image data', value: 'https://example.com/selfie.jpg', expectedCode: 'BAD_USER_INPUT' },
    { name: 'data URI that is not base64 (percent-encoded)', value: 'data:image/jpeg,%FF%D8%FF%E0%00%10JFIF', expectedCode: 'BAD_USER_INPUT' },
    { name: 'data URI without a comma', value: 'data:image/jpeg;base64' + jpegB64.slice(0, 200), expectedCode: 'BAD_USER_INPUT' },
    { name: 'data URI with a header longer than 256 characters', value: `data:image/jpeg;name=${'x'.repeat(300)};base64,${jpegB64}`, expectedCode: 'BAD_USER_INPUT' },

    // --- huge --------------------------------------------------------------------------------------
    { name: "huge string: 20 MB of 'A'", value: 'A'.repeat(TWENTY_MB), expectedCode: 'IMAGE_TOO_LARGE', bodyLimitMayApply: true },
    { name: 'huge data URI: image/jpeg + 20 MB of base64', value: 'data:image/jpeg;base64,/9j/' + 'A'.repeat(TWENTY_MB), expectedCode: 'IMAGE_TOO_LARGE', bodyLimitMayApply: true },
    { name: 'small JPEG padded with 20 MB of whitespace', value: jpegB64 + ' '.repeat(TWENTY_MB), expectedCode: 'IMAGE_TOO_LARGE', bodyLimitMayApply: true },
  ];
  return cases;
}

async function buildValid(): Promise<ValidCase[]> {
  const jpeg = await noisyJpeg(160, 120);
  const png = await noisyPng(96, 64);
  const rotated = await noisyJpeg(160, 120, { orientation: 6 });
  const rgbaPng = await sharp({ create: { width: 40, height: 30, channels: 4, background: { r: 0, g: 128, b: 255, alpha: 0.5 } } }).png().toBuffer();
  const mimeWrapped = (b64(jpeg).match(/.{1,76}/g) ?? []).join('\r\n');
  const base = { format: 'jpeg' as const, width: 160, height: 120, sha256: sha256(jpeg), orientation: 1 };
  return [
    { name: 'JPEG, bare base64', value: b64(jpeg), ...base },
    { name: 'JPEG, data URI image/jpeg', value: dataUri('image/jpeg', jpeg), ...base },
    { name: 'JPEG, data URI in upper case with parameters', value: `DATA:IMAGE/JPEG;name=selfie.jpg;BASE64,${b64(jpeg)}`, ...base },
    { name: 'JPEG labelled image/png (accepted by its bytes)', value: dataUri('image/png', jpeg), ...base },
    { name: 'JPEG, base64 wrapped at 76 columns with CRLF', value: mimeWrapped, ...base },
    { name: 'JPEG, base64 without padding, surrounded by whitespace', value: `\n  ${b64(jpeg).replace(/=+$/, '')}\n`, ...base },
    { name: 'PNG, data URI', value: dataUri('image/png', png), format: 'png', width: 96, height: 64, sha256: sha256(png), orientation: 1 },
    { name: 'PNG with alpha labelled image/jpeg', value: dataUri('image/jpeg', rgbaPng), format: 'png', width: 40, height: 30, sha256: sha256(rgbaPng), orientation: 1 },
    { name: 'JPEG with EXIF orientation 6 (160×120 stored, 120×160 displayed)', value: b64(rotated), format: 'jpeg', width: 120, height: 160, sha256: sha256(rotated), orientation: 6 },
  ];
}
