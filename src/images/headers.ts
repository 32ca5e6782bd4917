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

/**
 * Everything a JPEG's marker segments say that the edge needs, read before its scan data:
 * dimensions and components (SOFn) and the EXIF orientation (IFD0 tag 0x0112 of the first Exif APP1).
 * `complete`: the walk reached the first scan (SOS) through well-formed segments, after a frame
 * header with 1, 3 or 4 components of 8-bit samples — what libvips' own header read would report
 * from the same bytes, so that read can be skipped; otherwise the caller asks libvips.
 */
export interface JpegHeader extends DeclaredHeader {
  readonly components?: number;
  readonly precision?: number;
  /** 1–8 from EXIF, 1 when there is none */
  readonly orientation: number;
  readonly complete: boolean;
}

/** Dimensions from the first SOFn frame header. null when not found before the scan data. */
export function readJpegHeader(buf: Buffer): JpegHeader | null {
  let off = 2; // after SOI
  let sof: { width: number; height: number; components: number; precision: number } | undefined;
  let orientation: number | undefined;
  const found = (complete: boolean): JpegHeader | null =>
    sof ? { ...sof, orientation: orientation ?? 1, complete: complete && sof.precision === 8 && [1, 3, 4].includes(sof.components) && sof.width > 0 && sof.height > 0 } : null;
  while (off + 4 <= buf.length) {
    if (buf[off] !== 0xff) return found(false);
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
    if (marker === 0xd9) return found(false); // EOI before any scan
    if (off + 4 > buf.length) return found(false);
    const len = buf.readUInt16BE(off + 2);
    if (len < 2 || off + 2 + len > buf.length) return found(false);
    if (marker === 0xda) return found(len >= 8); // SOS: the scan data follows
    const isSof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (isSof && !sof) {
      if (len < 8) return null;
      sof = { precision: buf[off + 4]!, height: buf.readUInt16BE(off + 5), width: buf.readUInt16BE(off + 7), components: buf[off + 9]! };
    } else if (marker === 0xe1 && orientation === undefined && len >= 16 && buf.toString('latin1', off + 4, off + 10) === 'Exif\0\0') {
      orientation = exifOrientation(buf, off + 10, off + 2 + len);
    }
    off += 2 + len;
  }
  return found(false);
}

/** IFD0's orientation tag in the TIFF structure at buf[start, end); 1 when absent or unreadable. */
function exifOrientation(buf: Buffer, start: number, end: number): number {
  if (end - start < 8) return 1;
  const order = buf.toString('latin1', start, start + 2);
  if (order !== 'II' && order !== 'MM') return 1;
  const le = order === 'II';
  const u16 = (at: number) => (le ? buf.readUInt16LE(at) : buf.readUInt16BE(at));
  const u32 = (at: number) => (le ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
  if (u16(start + 2) !== 42) return 1;
  const ifd = start + u32(start + 4);
  if (ifd + 2 > end || ifd < start) return 1;
  const count = u16(ifd);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + 12 * i;
    if (entry + 12 > end) return 1;
    if (u16(entry) !== 0x0112) continue;
    // SHORT, count 1: the value sits in the first two bytes of the value field
    const value = u16(entry + 2) === 3 ? u16(entry + 8) : 1;
    return value >= 1 && value <= 8 ? value : 1;
  }
  return 1;
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
