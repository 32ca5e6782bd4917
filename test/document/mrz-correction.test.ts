/**
 * Check-digit-guided repair of OCR-B look-alikes (providers/local/document/mrz.ts, `parseRead`),
 * on readings made here: each line's characters with the probability the model would have given.
 * No OCR model: the repair is a function of the read characters.
 */
import { parse } from 'mrz';
import { parseRead } from '../../providers/local/document/mrz';
import type { ReadLine } from '../../providers/local/document/recognise';
import { mrzLines, randomIdentity, rng } from '../corpus/documents';

/** A TD3 MRZ with this document number (check digits computed by the generator). */
function td3(number: string): string[] {
  return mrzLines({ ...randomIdentity(rng(4242), 'TD3'), number, optional: '' });
}

/** The lines as read: every character with probability p (the runner-up '<'), `doubt` columns of line 2 with their own. */
function reading(lines: readonly string[], doubt: Record<number, number> = {}): ReadLine[] {
  return lines.map((text, line) => ({
    text,
    raw: text,
    chars: [...text].map((char, cell) => ({ char, p: line === 1 && doubt[cell] !== undefined ? doubt[cell]! : 0.98, second: '<', pSecond: 0.01, cell, position: cell })),
  }));
}

/** `lines` with line 2's column `column` replaced by `ch` */
const misread = (lines: readonly string[], column: number, ch: string) => [lines[0]!, lines[1]!.slice(0, column) + ch + lines[1]!.slice(column + 1)];

test('an O read as 0 in the document number is repaired when the check digits then hold', () => {
  const truth = td3('XK7O49PQR');
  expect(parse(truth).valid).toBe(true);
  const read = misread(truth, 3, '0');
  expect(parse(read).valid).toBe(false);
  const r = parseRead(reading(read));
  expect(r.parsed.valid).toBe(true);
  expect(r.lines).toEqual(truth);
});

test('a 5 read as S, and a B read as 8, are repaired the same way', () => {
  for (const [number, column, wrong] of [['XK5Q49PQR', 2, 'S'], ['XKQB49PQR', 3, '8']] as const) {
    const truth = td3(number);
    const r = parseRead(reading(misread(truth, column, wrong)));
    expect({ number, valid: r.parsed.valid, lines: r.lines }).toEqual({ number, valid: true, lines: truth });
  }
});

test('no repair when another character of the field was read without confidence', () => {
  const truth = td3('XK7O49PQR');
  const read = misread(truth, 3, '0');
  // column 5 ('9') read with p 0.3: the field was not read well but for its look-alikes
  const r = parseRead(reading(read, { 5: 0.3 }));
  expect(r.parsed.valid).toBe(false);
  expect(r.lines[1]!.slice(0, 9)).toBe(read[1]!.slice(0, 9));
});

test('no repair that would need a check digit to lie: a misread check digit leaves the field as read', () => {
  const truth = td3('XK7O49PQR');
  const read = misread(truth, 3, '0');
  // the check digit misread too: no flip of the number's look-alikes makes it hold
  const check = read[1]![9]!;
  const wrongCheck = misread(read, 9, String((Number(check) + 5) % 10));
  const r = parseRead(reading(wrongCheck));
  expect(r.parsed.valid).toBe(false);
  expect(r.lines[1]!.slice(0, 10)).toBe(wrongCheck[1]!.slice(0, 10));
});

test('no repair when two different repairs both pass: the check digits cannot tell which', () => {
  // B→8 at weight 7 (column 0) and S→5 at weight 7 (column 3) change the sum by 3·7 and 23·7: both −1 mod 10
  const truth = td3('8XKSXKXXX');
  const read = misread(truth, 0, 'B');
  expect(parse(misread(read, 3, '5')).valid).toBe(true); // the other repair passes too
  const r = parseRead(reading(read));
  expect(r.parsed.valid).toBe(false);
  expect(r.lines[1]!.slice(0, 9)).toBe('BXKSXKXXX');
});

test('a reading whose check digits hold but with two uncertain guarded characters is not valid alone', () => {
  const truth = td3('XK7Q49PQR');
  const r = parseRead(reading(truth, { 1: 0.4, 2: 0.45 }));
  expect(r.parsed.valid).toBe(false);
  expect(r.unsure?.valid).toBe(true);
  expect(r.lines).toEqual(truth);
});

test('a filler read for K (20: 0 mod 10) at the start of the number passes every check digit, and is still not valid', () => {
  const truth = td3('KZVQ3XWCT');
  const read = misread(truth, 0, '<');
  expect(parse(read).valid).toBe(true); // the check digits cannot see it
  const r = parseRead(reading(read));
  expect(r.parsed.valid).toBe(false);
  expect(r.unsure).toBeUndefined();
  expect(parseRead(reading(truth)).parsed.valid).toBe(true);
});
