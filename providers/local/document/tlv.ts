/**
 * BER-TLV as the LDS uses it (ICAO Doc 9303 Part 10): tags of one or more bytes, definite lengths
 * of up to four bytes. Reads are bounds-checked; anything malformed is a ChipInputError.
 */

export type ChipErrorCode = 'NOT_ASN1' | 'NOT_LDS' | 'TOO_LARGE' | 'UNSUPPORTED' | 'CERTIFICATE_LOOP' | 'BAD_FACE_IMAGE';

/** Chip input that cannot be verified at all (as opposed to a chip that fails verification). */
export class ChipInputError extends Error {
  constructor(
    readonly code: ChipErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ChipInputError';
  }
}

export interface Tlv {
  tag: number;
  /** value bytes (a view into the input) */
  value: Uint8Array;
  /** the whole element, tag to end */
  raw: Uint8Array;
}

/** One TLV at `offset`. */
export function readTlv(bytes: Uint8Array, offset = 0, what = 'data'): Tlv {
  const fail = (why: string): never => {
    throw new ChipInputError('NOT_ASN1', `${what} is not BER-TLV: ${why}`);
  };
  let p = offset;
  if (p >= bytes.length) fail('empty');
  let tag = bytes[p++]!;
  if ((tag & 0x1f) === 0x1f) {
    // multi-byte tag: continuation bytes have bit 8 set (LDS tags have at most 3 bytes)
    let n = 0;
    do {
      if (p >= bytes.length || ++n > 3) fail('tag too long');
      tag = (tag << 8) | bytes[p]!;
    } while (bytes[p++]! & 0x80);
  }
  if (p >= bytes.length) fail('no length');
  let length = bytes[p++]!;
  if (length === 0x80) fail('indefinite length');
  if (length > 0x80) {
    const n = length & 0x7f;
    if (n > 4 || p + n > bytes.length) fail('bad length');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + bytes[p++]!;
  }
  if (p + length > bytes.length) fail(`length ${length} runs past the end`);
  return { tag, value: bytes.subarray(p, p + length), raw: bytes.subarray(offset, p + length) };
}

/** The children of a constructed value. */
export function children(value: Uint8Array, what = 'data'): Tlv[] {
  const out: Tlv[] = [];
  for (let p = 0; p < value.length; ) {
    const t = readTlv(value, p, what);
    out.push(t);
    p += t.raw.length;
  }
  return out;
}

/** The first child with `tag`, or a NOT_LDS error naming what is missing. */
export function child(value: Uint8Array, tag: number, what: string): Tlv {
  const found = children(value, what).find((t) => t.tag === tag);
  if (!found) throw new ChipInputError('NOT_LDS', `${what}: no tag ${tag.toString(16).toUpperCase()}`);
  return found;
}

/** A TLV's encoding: tag bytes as given, definite length. */
export function encodeTlv(tag: number, value: Uint8Array): Uint8Array {
  const tagBytes: number[] = [];
  for (let t = tag; t > 0; t = Math.floor(t / 256)) tagBytes.unshift(t & 0xff);
  const n = value.length;
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : n < 0x10000 ? [0x82, n >> 8, n & 0xff] : [0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  const out = new Uint8Array(tagBytes.length + len.length + n);
  out.set(tagBytes, 0);
  out.set(len, tagBytes.length);
  out.set(value, tagBytes.length + len.length);
  return out;
}
