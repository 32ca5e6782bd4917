/**
 * The data groups a phone reads from an eMRTD chip (ICAO Doc 9303 Part 10): DG1 (the MRZ) and
 * DG2 (the face: an ISO/IEC 19794-5 record holding a JPEG or JPEG 2000 image), and the face
 * decoded to a JPEG the face engine can read (JPEG 2000 through OpenJPEG compiled to WebAssembly,
 * from @cornerstonejs/codec-openjpeg).
 */
import sharp from 'sharp';
import { MRZ_SHAPES, type MrzFormat } from './icao';
import { ChipInputError, child, readTlv } from './tlv';

/** DG1: the MRZ lines. */
export function parseDg1(dg1: Uint8Array): { format: MrzFormat; lines: string[] } {
  const outer = readTlv(dg1, 0, 'DG1');
  if (outer.tag !== 0x61) throw new ChipInputError('NOT_LDS', `DG1 starts with tag ${outer.tag.toString(16)}, not 61`);
  const mrz = Buffer.from(child(outer.value, 0x5f1f, 'DG1').value).toString('latin1');
  const format = (Object.keys(MRZ_SHAPES) as MrzFormat[]).find((f) => MRZ_SHAPES[f].length * MRZ_SHAPES[f].lines === mrz.length);
  if (!format || !/^[A-Z0-9<]+$/.test(mrz)) throw new ChipInputError('NOT_LDS', `DG1 holds ${mrz.length} characters that are not an MRZ`);
  const { length, lines } = MRZ_SHAPES[format];
  return { format, lines: Array.from({ length: lines }, (_, i) => mrz.slice(i * length, (i + 1) * length)) };
}

export interface Dg2Face {
  format: 'jpeg' | 'jpeg2000';
  /** the image as stored in DG2 */
  image: Uint8Array;
  width: number;
  height: number;
}

/** DG2: the first face image (tags 75 → 7F61 → 7F60 → 5F2E/7F2E → ISO 19794-5 record). */
export function parseDg2(dg2: Uint8Array): Dg2Face {
  const outer = readTlv(dg2, 0, 'DG2');
  if (outer.tag !== 0x75) throw new ChipInputError('NOT_LDS', `DG2 starts with tag ${outer.tag.toString(16)}, not 75`);
  const group = child(outer.value, 0x7f61, 'DG2 biometric information group');
  const template = child(group.value, 0x7f60, 'DG2 biometric information template');
  const block = [0x5f2e, 0x7f2e].map((t) => {
    try {
      return child(template.value, t, 'DG2 biometric data block');
    } catch {
      return undefined;
    }
  }).find(Boolean);
  if (!block) throw new ChipInputError('NOT_LDS', 'DG2 has no biometric data block (5F2E/7F2E)');
  return parseIso19794Face(block.value);
}

/**
 * ISO/IEC 19794-5:2005: header 'FAC\0', version, record length, image count (14 bytes); per image
 * a 20-byte facial information block, 8 bytes per feature point, a 12-byte image information
 * block (image data type 0 = JPEG, 1 = JPEG 2000), then the image.
 */
function parseIso19794Face(rec: Uint8Array): Dg2Face {
  const bad = (why: string): never => {
    throw new ChipInputError('NOT_LDS', `DG2 face record: ${why}`);
  };
  const view = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
  if (rec.length < 14 + 20 + 12) bad('too short');
  if (rec[0] !== 0x46 || rec[1] !== 0x41 || rec[2] !== 0x43 || rec[3] !== 0) bad("no 'FAC' header");
  if (view.getUint16(12) < 1) bad('no image');
  const blockStart = 14;
  const blockLength = view.getUint32(blockStart);
  const points = view.getUint16(blockStart + 4);
  const info = blockStart + 20 + 8 * points;
  if (info + 12 > rec.length || blockStart + blockLength > rec.length || blockLength < 32 + 8 * points) bad('lengths do not fit');
  const dataType = rec[info + 1]!;
  const width = view.getUint16(info + 2);
  const height = view.getUint16(info + 4);
  const image = rec.subarray(info + 12, blockStart + blockLength);
  if (dataType !== 0 && dataType !== 1) bad(`image data type ${dataType} is neither JPEG nor JPEG 2000`);
  return { format: dataType === 0 ? 'jpeg' : 'jpeg2000', image, width, height };
}

/** Largest face image decoded (DG2 portraits are ~ 480×640). */
const MAX_FACE_PIXELS = 4096 * 4096;

/** The face as a JPEG: a JPEG as stored (after a decode check), JPEG 2000 decoded and re-encoded. */
export async function faceJpeg(face: Dg2Face): Promise<Buffer> {
  try {
    if (face.format === 'jpeg') {
      const bytes = Buffer.from(face.image);
      await sharp(bytes, { limitInputPixels: MAX_FACE_PIXELS, failOn: 'error' }).raw().toBuffer();
      return bytes;
    }
    const { data, width, height, channels } = await decodeJpeg2000(face.image);
    return await sharp(data, { raw: { width, height, channels } }).jpeg({ quality: 95 }).toBuffer();
  } catch (e) {
    if (e instanceof ChipInputError) throw e;
    throw new ChipInputError('BAD_FACE_IMAGE', `DG2 face image cannot be decoded: ${(e as Error).message.split('\n')[0]}`);
  }
}

interface OpenJpeg {
  J2KDecoder: new () => {
    getEncodedBuffer(length: number): Uint8Array;
    readHeader(): void;
    decode(): void;
    getFrameInfo(): { width: number; height: number; bitsPerSample: number; componentCount: number; isSigned: boolean };
    getDecodedBuffer(): Uint8Array;
    delete(): void;
  };
}

let openjpeg: Promise<OpenJpeg> | undefined;

function loadOpenJpeg(): Promise<OpenJpeg> {
  // the WebAssembly decoder (no encoder), loaded once per thread
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  // (print, printErr: OpenJPEG's progress lines would go to stdout)
  openjpeg ??= (require('@cornerstonejs/codec-openjpeg/decodewasmjs') as (opts?: object) => Promise<OpenJpeg>)({ print: () => undefined, printErr: () => undefined });
  return openjpeg;
}

/** JPEG 2000 (a JP2 file or a bare codestream) → 8-bit interleaved pixels. */
export async function decodeJpeg2000(bytes: Uint8Array): Promise<{ data: Buffer; width: number; height: number; channels: 1 | 3 }> {
  const codestream = jp2Codestream(bytes);
  const lib = await loadOpenJpeg();
  // the size from the codestream's SIZ marker, before anything is decoded
  const size = sizMarker(codestream);
  if (size.width * size.height > MAX_FACE_PIXELS || size.width < 1 || size.height < 1) {
    throw new ChipInputError('TOO_LARGE', `DG2 face is ${size.width}×${size.height} pixels`);
  }
  if (size.components !== 1 && size.components !== 3) throw new ChipInputError('UNSUPPORTED', `DG2 face has ${size.components} components`);
  const decoder = new lib.J2KDecoder();
  try {
    decoder.getEncodedBuffer(codestream.length).set(codestream);
    decoder.decode();
    const info = decoder.getFrameInfo();
    if (info.width !== size.width || info.height !== size.height || info.componentCount !== size.components) {
      throw new ChipInputError('BAD_FACE_IMAGE', 'DG2 face decodes to another size than its header says');
    }
    const raw = decoder.getDecodedBuffer();
    const n = info.width * info.height * info.componentCount;
    let data: Buffer;
    if (info.bitsPerSample <= 8) data = Buffer.from(raw.subarray(0, n));
    else {
      // 16-bit samples (little-endian) → 8 bits
      const shift = info.bitsPerSample - 8;
      const src = new Uint16Array(raw.buffer, raw.byteOffset, n);
      data = Buffer.alloc(n);
      for (let i = 0; i < n; i++) data[i] = Math.min(255, src[i]! >> shift);
    }
    return { data, width: info.width, height: info.height, channels: info.componentCount as 1 | 3 };
  } finally {
    decoder.delete();
  }
}

/** SIZ (FF51), the marker segment right after SOC: image size minus offset, and components. */
function sizMarker(cs: Uint8Array): { width: number; height: number; components: number } {
  if (cs.length < 42 || cs[0] !== 0xff || cs[1] !== 0x4f || cs[2] !== 0xff || cs[3] !== 0x51) {
    throw new ChipInputError('BAD_FACE_IMAGE', 'DG2 face is not a JPEG 2000 codestream (no SOC/SIZ)');
  }
  const v = new DataView(cs.buffer, cs.byteOffset, cs.byteLength);
  // FF51, Lsiz, Rsiz, Xsiz, Ysiz, XOsiz, YOsiz, XTsiz, YTsiz, XTOsiz, YTOsiz, Csiz
  const width = v.getUint32(8) - v.getUint32(16);
  const height = v.getUint32(12) - v.getUint32(20);
  return { width, height, components: v.getUint16(40) };
}

/** The codestream of a JP2 file (its 'jp2c' box), or the bytes themselves when they are one. */
function jp2Codestream(bytes: Uint8Array): Uint8Array {
  if (bytes[0] === 0xff && bytes[1] === 0x4f) return bytes; // SOC marker: a bare codestream
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let p = 0; p + 8 <= bytes.length; ) {
    let size = view.getUint32(p);
    const type = String.fromCharCode(bytes[p + 4]!, bytes[p + 5]!, bytes[p + 6]!, bytes[p + 7]!);
    let header = 8;
    if (size === 1) {
      if (p + 16 > bytes.length) break;
      size = view.getUint32(p + 8) * 2 ** 32 + view.getUint32(p + 12);
      header = 16;
    } else if (size === 0) size = bytes.length - p;
    if (size < header || p + size > bytes.length) break;
    if (type === 'jp2c') return bytes.subarray(p + header, p + size);
    p += size;
  }
  throw new ChipInputError('BAD_FACE_IMAGE', 'DG2 face is marked JPEG 2000 but holds no codestream');
}
