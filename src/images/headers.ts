/**
 * Tiny, allocation-free readers of the few header fields we need before handing bytes to libvips:
 * declared dimensions (JPEG SOFn, PNG IHDR) and PNG animation (acTL). They only ever look at
 * headers, never at compressed pixel data, and they bound every read by the buffer length.
 * They are a first line of defence; sharp's own metadata() (with limitInputPixels) is the second.
 */

export interface DeclaredHeader {
  readonly width: number;
  readonly height: number;
  /** PNG only: an acTL chunk (APNG) was found before the first IDAT */
  readonly animated?: boolean;
  /** PNG only: number of frames declared by acTL */
  readonly frames?: number;
}

const PNG_SIGNATURE_LENGTH = 8;

/** IHDR dimensions and APNG detection. null when the chunk layout is not parseable (sharp will say why). */
export function readPngHeader(buf: Buffer): DeclaredHeader | null {
  let off = PNG_SIGNATURE_LENGTH;
  if (buf.length < off + 8 + 13) return null;
  if (buf.readUInt32BE(off) !== 13 || buf.toString('latin1', off + 4, off + 8) !== 'IHDR') return null;
  const width = buf.readUInt32BE(off + 8);
  const height = buf.readUInt32BE(off + 12);
  let animated = false;
  let frames: number | undefined;
  // Walk the chunks up to the first IDAT (acTL must precede it). Bounded by buffer length and a
  // chunk-count cap so a file of millions of empty chunks cannot make us spin.
  off += 8 + 13 + 4;
  for (let n = 0; n < 10_000 && off + 8 <= buf.length; n++) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    if (type === 'IDAT' || type === 'IEND') break;
    if (type === 'acTL') {
      animated = true;
      if (len >= 4 && off + 12 <= buf.length) frames = buf.readUInt32BE(off + 8);
    }
    if (len > buf.length) break;
    off += 12 + len;
  }
  return { width, height, animated, frames };
}

/** Dimensions from the first SOFn frame header. null when not found before the scan data. */
export function readJpegHeader(buf: Buffer): DeclaredHeader | null {
  let off = 2; // after SOI
  while (off + 4 <= buf.length) {
    if (buf[off] !== 0xff) return null;
    let marker = buf[off + 1]!;
    // fill bytes: any number of 0xFF before the marker code
    while (marker === 0xff && off + 2 < buf.length) {
      off++;
      marker = buf[off + 1]!;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      off += 2; // standalone markers
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return null; // EOI / SOS before any SOF
    if (off + 4 > buf.length) return null;
    const len = buf.readUInt16BE(off + 2);
    if (len < 2) return null;
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof) {
      if (off + 9 > buf.length) return null;
      return { height: buf.readUInt16BE(off + 5), width: buf.readUInt16BE(off + 7) };
    }
    off += 2 + len;
  }
  return null;
}

/**
 * Offset of the first SOS (start of scan) marker, or -1. Walks the marker segments only.
 */
export function jpegScanOffset(buf: Buffer): number {
  let off = 2;
  while (off + 4 <= buf.length) {
    if (buf[off] !== 0xff) return -1;
    let marker = buf[off + 1]!;
    while (marker === 0xff && off + 2 < buf.length) {
      off++;
      marker = buf[off + 1]!;
    }
    if (marker === 0xda) return off;
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      off += 2;
      continue;
    }
    if (marker === 0xd9 || off + 4 > buf.length) return -1;
    const len = buf.readUInt16BE(off + 2);
    if (len < 2) return -1;
    off += 2 + len;
  }
  return -1;
}

const EOI = Buffer.from([0xff, 0xd9]);

/**
 * Whether an EOI marker follows the first scan. Inside entropy-coded data 0xFF is always followed by
 * 0x00 or RSTn, so an FF D9 after the SOS is the end-of-image marker (anything after it, e.g. the
 * trailers some phones append, is ignored). Needed because libjpeg does not reliably report a file
 * that ends right after its last MCU: whether it warns depends on the final bits.
 */
export function jpegHasEndAfterScan(buf: Buffer): boolean {
  const sos = jpegScanOffset(buf);
  return sos >= 0 && buf.lastIndexOf(EOI) > sos;
}

const SOS = Buffer.from([0xff, 0xda]);

/**
 * Number of SOS markers (scans), counting no further than `stopAfter`. Baseline JPEGs have 1 scan,
 * progressive ones ~10; libjpeg-turbo's own guidance for untrusted input (djpeg -maxscans, its fuzz
 * targets use 500) is to cap them, because every scan of a progressive file is a pass over the whole
 * coefficient buffer: thousands of tiny scans make a small file cost seconds of CPU.
 * FF DA cannot occur inside entropy-coded data (0xFF is stuffed with 0x00 there).
 */
export function jpegScanCount(buf: Buffer, stopAfter = Number.MAX_SAFE_INTEGER): number {
  let n = 0;
  for (let at = buf.indexOf(SOS); at >= 0 && n < stopAfter; at = buf.indexOf(SOS, at + 2)) n++;
  return n;
}
