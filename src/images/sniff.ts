/**
 * Format detection by magic bytes. Never by file name or data-URI label.
 * Only 'jpeg' and 'png' are accepted by the gateway; the rest are named so that the client is told
 * what it actually sent ("is GIF", "is a PDF document"…).
 */

export type SniffedFormat =
  | 'jpeg' | 'png'
  | 'gif' | 'webp' | 'bmp' | 'tiff' | 'heic' | 'heif' | 'avif' | 'jp2' | 'jxl' | 'ico' | 'psd'
  | 'qoi' | 'pnm' | 'exr' | 'hdr'
  | 'svg' | 'pdf' | 'postscript' | 'html' | 'xml' | 'zip' | 'gzip' | 'mp4' | 'text';

const startsWith = (buf: Buffer, bytes: readonly number[], at = 0): boolean =>
  buf.length >= at + bytes.length && bytes.every((b, i) => buf[at + i] === b);
const ascii = (buf: Buffer, s: string, at = 0): boolean =>
  buf.length >= at + s.length && buf.toString('latin1', at, at + s.length) === s;

const HEIC_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'hevm', 'hevs']);
const HEIF_BRANDS = new Set(['mif1', 'msf1', 'mif2']);
const AVIF_BRANDS = new Set(['avif', 'avis']);

/**
 * What `buf` is, judged by its first bytes: 'jpeg' | 'png' | another known format name | 'text'
 * (printable text that is not a known markup format) | null (unrecognised binary, or empty).
 */
export function sniffFormat(buf: Buffer): SniffedFormat | null {
  if (buf.length === 0) return null;
  if (startsWith(buf, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(buf, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (ascii(buf, 'GIF87a') || ascii(buf, 'GIF89a')) return 'gif';
  if (ascii(buf, 'RIFF') && ascii(buf, 'WEBP', 8)) return 'webp';
  if (ascii(buf, '%PDF-')) return 'pdf';
  if (ascii(buf, '%!PS')) return 'postscript';
  if (startsWith(buf, [0x49, 0x49, 0x2a, 0x00]) || startsWith(buf, [0x4d, 0x4d, 0x00, 0x2a])
    || startsWith(buf, [0x49, 0x49, 0x2b, 0x00]) || startsWith(buf, [0x4d, 0x4d, 0x00, 0x2b])) return 'tiff';
  if (ascii(buf, 'ftyp', 4) && buf.length >= 12) {
    const brand = buf.toString('latin1', 8, 12);
    if (AVIF_BRANDS.has(brand)) return 'avif';
    if (HEIC_BRANDS.has(brand)) return 'heic';
    if (HEIF_BRANDS.has(brand)) return 'heif';
    if (brand === 'jxl ') return 'jxl';
    return 'mp4';
  }
  if (startsWith(buf, [0x00, 0x00, 0x00, 0x0c, 0x6a, 0x50, 0x20, 0x20, 0x0d, 0x0a, 0x87, 0x0a])
    || startsWith(buf, [0xff, 0x4f, 0xff, 0x51])) return 'jp2';
  if (startsWith(buf, [0x00, 0x00, 0x00, 0x0c, 0x4a, 0x58, 0x4c, 0x20, 0x0d, 0x0a, 0x87, 0x0a])
    || startsWith(buf, [0xff, 0x0a])) return 'jxl';
  if (ascii(buf, 'BM') && buf.length >= 26 && buf.readUInt32LE(6) === 0) return 'bmp';
  if ((startsWith(buf, [0, 0, 1, 0]) || startsWith(buf, [0, 0, 2, 0])) && buf.length >= 6 && buf.readUInt16LE(4) > 0) return 'ico';
  if (ascii(buf, '8BPS')) return 'psd';
  if (ascii(buf, 'qoif')) return 'qoi';
  if (startsWith(buf, [0x76, 0x2f, 0x31, 0x01])) return 'exr';
  if (ascii(buf, '#?RADIANCE') || ascii(buf, '#?RGBE')) return 'hdr';
  if (buf.length >= 3 && buf[0] === 0x50 && buf[1]! >= 0x31 && buf[1]! <= 0x37 && /\s/.test(String.fromCharCode(buf[2]!))) return 'pnm';
  if (startsWith(buf, [0x50, 0x4b, 0x03, 0x04])) return 'zip';
  if (startsWith(buf, [0x1f, 0x8b])) return 'gzip';
  return sniffText(buf);
}

/** SVG / HTML / XML / plain text, judged on the first 4 KiB. */
function sniffText(buf: Buffer): SniffedFormat | null {
  const head = buf.subarray(0, 4096);
  if (!looksLikeText(head)) return null;
  const s = head.toString('utf8').replace(/^\uFEFF/, '').trimStart().toLowerCase();
  if (s.startsWith('<')) {
    if (/<svg[\s>/]/.test(s)) return 'svg';
    if (s.startsWith('<!doctype html') || /<html[\s>]/.test(s)) return 'html';
    return 'xml';
  }
  return 'text';
}

function looksLikeText(head: Buffer): boolean {
  for (const b of head) {
    if (b === 0x09 || b === 0x0a || b === 0x0d || b === 0x0c) continue;
    if (b < 0x20 || b === 0x7f) return false;
  }
  // bytes >= 0x80 must form valid UTF-8 (a cut multi-byte sequence at the 4 KiB edge is fine)
  const decoded = head.toString('utf8');
  const replacements = (decoded.match(/\uFFFD/g) ?? []).length;
  return replacements <= 1;
}

/** Human name for messages. */
export function describeFormat(format: SniffedFormat | null): string {
  switch (format) {
    case null: return 'not a recognised image format';
    case 'text': return 'plain text, not an image';
    case 'svg': return 'an SVG document';
    case 'pdf': return 'a PDF document';
    case 'postscript': return 'a PostScript document';
    case 'html': return 'an HTML document';
    case 'xml': return 'an XML document';
    case 'zip': return 'a ZIP archive';
    case 'gzip': return 'gzip-compressed data';
    case 'mp4': return 'an ISO media (MP4/MOV) file';
    default: return `${/^[AEIOU]/.test(format.toUpperCase()) ? 'an' : 'a'} ${format.toUpperCase()} image`;
  }
}
