/**
 * ICAO Doc 9303 rules that are not parsing: the MRZ formats' line lengths, the check digit, the
 * transliteration of national characters into the MRZ alphabet (Part 3, §6), and turning the MRZ's
 * two-digit years into dates. Pure functions, no dependencies.
 */

export type MrzFormat = 'TD1' | 'TD2' | 'TD3';

/** characters per line and lines per MRZ */
export const MRZ_SHAPES: Record<MrzFormat, { length: number; lines: number }> = {
  TD1: { length: 30, lines: 3 },
  TD2: { length: 36, lines: 2 },
  TD3: { length: 44, lines: 2 },
};

export const MRZ_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789<';

/** The 7-3-1 check digit over digits, letters (A = 10 … Z = 35) and fillers (0). */
export function checkDigit(field: string): string {
  const weights = [7, 3, 1];
  let sum = 0;
  for (let i = 0; i < field.length; i++) {
    const c = field.charCodeAt(i);
    const value = c >= 48 && c <= 57 ? c - 48 : c >= 65 && c <= 90 ? c - 55 : 0;
    sum += value * weights[i % 3]!;
  }
  return String(sum % 10);
}

/**
 * Doc 9303 Part 3 §6.A: national characters written as the recommended MRZ letters. Where the
 * table allows a shorter form as well (Ä → AE or A, Ü → UE, UXX or U, Ñ → N or NXX, Å → AA or A,
 * Ö → OE or O), `transliterations` returns each form; this table holds the first one.
 */
const RECOMMENDED: Record<string, string> = {
  Ä: 'AE', Å: 'AA', Æ: 'AE', Ö: 'OE', Ø: 'OE', Ü: 'UE', Œ: 'OE', ß: 'SS', ẞ: 'SS', Þ: 'TH', Ð: 'D',
  Đ: 'D', Ħ: 'H', Ł: 'L', Ŀ: 'L', Ŋ: 'N', Ŧ: 'T', Ĳ: 'IJ', ı: 'I', ĸ: 'K', ŉ: 'N',
};

/** the alternatives Doc 9303 names beside the recommended form */
const ALTERNATIVES: Record<string, readonly string[]> = {
  Ä: ['A'], Å: ['A'], Ö: ['O'], Ü: ['U', 'UXX'], Ñ: ['NXX'],
};

/**
 * A name in the MRZ alphabet: upper case, national characters per Doc 9303 (recommended forms),
 * other diacritics dropped, apostrophes omitted, hyphens, spaces and commas as fillers; anything
 * else not in the alphabet is dropped. `alternative` picks the table's other forms instead.
 */
export function transliterate(name: string, alternative?: (ch: string) => string | undefined): string {
  let out = '';
  for (const raw of name.normalize('NFC')) {
    const ch = raw === 'ß' || raw === 'ı' || raw === 'ĸ' || raw === 'ŉ' ? raw : raw.toUpperCase();
    const mapped = alternative?.(ch) ?? RECOMMENDED[ch];
    if (mapped !== undefined) {
      out += mapped;
      continue;
    }
    if (ch === "'" || ch === '’' || ch === '`') continue;
    if (ch === '-' || ch === ' ' || ch === ',' || ch === '<' || ch === '\u00a0') {
      out += '<';
      continue;
    }
    // decompose and keep the base letter: É → E, Č → C, Ș → S
    for (const base of ch.normalize('NFD')) if (MRZ_ALPHABET.includes(base)) out += base;
  }
  return out;
}

/**
 * Every reading of a name that Doc 9303 allows: the recommended one, the short one (Ä → A …), and
 * the XX forms (Ü → UXX, Ñ → NXX) — at most these three, not every mix of them.
 */
export function transliterations(name: string): string[] {
  const short = (ch: string) => ALTERNATIVES[ch]?.[0];
  const xx = (ch: string) => ALTERNATIVES[ch]?.find((a) => a.endsWith('XX'));
  return [...new Set([transliterate(name), transliterate(name, short), transliterate(name, xx)])];
}

/** A date without time: the MRZ's unit. Months 1–12. */
export interface CalendarDate {
  year: number;
  month: number;
  day: number;
}

export const isoDate = (d: CalendarDate): string =>
  `${String(d.year).padStart(4, '0')}-${String(d.month).padStart(2, '0')}-${String(d.day).padStart(2, '0')}`;

export function utcDate(now: Date): CalendarDate {
  return { year: now.getUTCFullYear(), month: now.getUTCMonth() + 1, day: now.getUTCDate() };
}

export function compareDates(a: CalendarDate, b: CalendarDate): number {
  return a.year - b.year || a.month - b.month || a.day - b.day;
}

function validDate(year: number, month: number, day: number): boolean {
  if (month < 1 || month > 12 || day < 1) return false;
  const last = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return day <= last;
}

/** YYMMDD digits → numbers, or undefined when not six digits or not a date in either century */
function digits(yymmdd: string): { yy: number; month: number; day: number } | undefined {
  if (!/^\d{6}$/.test(yymmdd)) return undefined;
  return { yy: Number(yymmdd.slice(0, 2)), month: Number(yymmdd.slice(2, 4)), day: Number(yymmdd.slice(4, 6)) };
}

/**
 * A date of birth: the century that puts it at most 100 years back and not after today. A holder
 * born 100 or more years ago reads as a child (the MRZ cannot tell them apart), which an age gate
 * errs on the safe side of.
 */
export function birthDate(yymmdd: string, now: CalendarDate): CalendarDate | undefined {
  const d = digits(yymmdd);
  if (!d) return undefined;
  let year = 2000 + d.yy;
  if (compareDates({ year, month: d.month, day: d.day }, now) > 0) year -= 100;
  return validDate(year, d.month, d.day) ? { year, month: d.month, day: d.day } : undefined;
}

/** An expiry date: the century that puts it within 50 years either side of today. */
export function expiryDate(yymmdd: string, now: CalendarDate): CalendarDate | undefined {
  const d = digits(yymmdd);
  if (!d) return undefined;
  let year = Math.floor(now.year / 100) * 100 + d.yy;
  if (year > now.year + 50) year -= 100;
  else if (year <= now.year - 50) year += 100;
  return validDate(year, d.month, d.day) ? { year, month: d.month, day: d.day } : undefined;
}

/** Full years from `birth` to `on` (a 29 February birthday comes of age on 1 March). */
export function ageOn(birth: CalendarDate, on: CalendarDate): number {
  const beforeBirthday = on.month < birth.month || (on.month === birth.month && on.day < birth.day);
  return on.year - birth.year - (beforeBirthday ? 1 : 0);
}
