import { ageOn, birthDate, checkDigit, expiryDate, transliterate, transliterations } from '../../providers/local/document/icao';
import { compareApplicant, documentReasons, editDistance, nameMatches, oldEnough } from '../../providers/local/document/applicant';
import type { MrzDocument, MrzRead } from '../../providers/local/document/mrz';

const today = { year: 2026, month: 12, day: 3 };

describe('ICAO Doc 9303 rules', () => {
  test('check digits of the Doc 9303 Part 4 specimen (L898902C3, 740812, 120415 → 6, 2, 9)', () => {
    expect(checkDigit('L898902C3')).toBe('6');
    expect(checkDigit('740812')).toBe('2');
    expect(checkDigit('120415')).toBe('9');
    expect(checkDigit('ZE184226B<<<<<')).toBe('1');
    // composite over number+cd, birth+cd, expiry+cd, personal+cd of the same specimen
    expect(checkDigit('L898902C36' + '7408122' + '1204159' + 'ZE184226B<<<<<1')).toBe('0');
  });

  test('transliteration per Part 3: national characters, dropped diacritics, punctuation', () => {
    expect(transliterate('Müller')).toBe('MUELLER');
    expect(transliterate('Åström')).toBe('AASTROEM');
    expect(transliterate('Strauß')).toBe('STRAUSS');
    expect(transliterate('Østergård')).toBe('OESTERGAARD');
    expect(transliterate('Dvořák')).toBe('DVORAK');
    expect(transliterate('Łukasiewicz')).toBe('LUKASIEWICZ');
    expect(transliterate("O'Neill")).toBe('ONEILL');
    expect(transliterate('García López')).toBe('GARCIA<LOPEZ');
    expect(transliterate('Smith-Jones')).toBe('SMITH<JONES');
    expect(transliterate('Þór')).toBe('THOR');
    expect(transliterations('Müller')).toEqual(expect.arrayContaining(['MUELLER', 'MULLER', 'MUXXLLER']));
    expect(transliterations('Núñez')).toEqual(expect.arrayContaining(['NUNEZ', 'NUNXXEZ']));
  });

  test('two-digit years: birth dates never in the future, expiry within 50 years of today', () => {
    expect(birthDate('610117', today)).toEqual({ year: 1961, month: 1, day: 17 });
    expect(birthDate('100229', today)).toBeUndefined(); // 2010 was no leap year
    expect(birthDate('080229', today)).toEqual({ year: 2008, month: 2, day: 29 });
    expect(birthDate('261203', today)).toEqual({ year: 2026, month: 12, day: 3 });
    expect(birthDate('261204', today)).toEqual({ year: 1926, month: 12, day: 4 });
    expect(expiryDate('681205', today)).toEqual({ year: 2068, month: 12, day: 5 });
    expect(expiryDate('770101', today)).toEqual({ year: 1977, month: 1, day: 1 });
    expect(expiryDate('991399', today)).toBeUndefined();
  });

  test('age in full years; a 29 February birthday comes of age on 1 March', () => {
    const leap = { year: 2008, month: 2, day: 29 };
    expect(ageOn(leap, { year: 2026, month: 2, day: 28 })).toBe(17);
    expect(ageOn(leap, { year: 2026, month: 3, day: 1 })).toBe(18);
    expect(ageOn({ year: 2000, month: 12, day: 3 }, today)).toBe(26);
    expect(ageOn({ year: 2000, month: 12, day: 4 }, today)).toBe(25);
  });
});

const doc = (over: Partial<MrzDocument> = {}): MrzDocument => ({
  format: 'TD3', type: 'P', issuer: 'D', number: 'C01X00T47', surname: 'MUELLER', givenNames: 'ANNA MARIA', nationality: 'D',
  dateOfBirth: '2008-02-29', sex: 'F', expiryDate: '2030-01-01', mrzValid: true, expired: false, fields: {} as MrzDocument['fields'], lines: [], ...over,
});
const found = (d: MrzDocument): MrzRead => ({ found: true, document: d });

describe('applicant data and policy', () => {
  test('names: any Doc 9303 transliteration, tolerant of one slip, given names may be fewer but not more', () => {
    expect(nameMatches('Müller', 'MUELLER', false)).toBe(true);
    expect(nameMatches('Muller', 'MUELLER', false)).toBe(true); // short form Ü → U
    expect(nameMatches('Mueler', 'MUELLER', false)).toBe(true); // one letter off in seven
    expect(nameMatches('Meier', 'MUELLER', false)).toBe(false);
    expect(nameMatches('Anna', 'ANNA MARIA', true)).toBe(true);
    expect(nameMatches('Maria', 'ANNA MARIA', true)).toBe(true);
    expect(nameMatches('Anna Maria Luise', 'ANNA MARIA', true)).toBe(false);
    expect(nameMatches('Anna', 'ANNA MARIA', false)).toBe(false);
    expect(nameMatches('José Antonio María de la Santísima Trinidad', 'JOSE ANTONIO MARIA DE LA SA', true)).toBe(true); // cut by the MRZ
    expect(editDistance('ANNA', 'ANAN')).toBe(1);
  });

  test('compareApplicant gives NAME_MISMATCH and DOB_MISMATCH for the fields given', () => {
    expect(compareApplicant(doc(), { surname: 'Müller', givenNames: 'Anna', dateOfBirth: '2008-02-29' })).toEqual([]);
    expect(compareApplicant(doc(), { surname: 'Schmidt' })).toEqual(['NAME_MISMATCH']);
    expect(compareApplicant(doc(), { givenNames: 'Peter' })).toEqual(['NAME_MISMATCH']);
    expect(compareApplicant(doc(), { dateOfBirth: '2008-03-01' })).toEqual(['DOB_MISMATCH']);
    expect(compareApplicant(doc(), {})).toEqual([]);
  });

  test('documentReasons: not found and invalid stop there; expiry, applicant and age gate from the document', () => {
    const now = new Date('2026-02-28T12:00:00Z');
    expect(documentReasons({ found: false }, undefined, {}, now)).toEqual(['MRZ_NOT_FOUND']);
    expect(documentReasons(found(doc({ mrzValid: false })), { surname: 'X' }, { minimumAge: 18 }, now)).toEqual(['MRZ_INVALID']);
    expect(documentReasons(found(doc()), undefined, { minimumAge: 18 }, now)).toEqual(['AGE_BELOW_MINIMUM']);
    expect(documentReasons(found(doc()), undefined, { minimumAge: 18 }, new Date('2026-03-01T00:00:00Z'))).toEqual([]);
    expect(documentReasons(found(doc({ expired: true })), { surname: 'Schmidt' }, { rejectExpired: true, minimumAge: 16 }, now)).toEqual(['DOCUMENT_EXPIRED', 'NAME_MISMATCH']);
    expect(documentReasons(found(doc({ expired: true })), undefined, { rejectExpired: false }, now)).toEqual([]);
    expect(oldEnough(doc({ dateOfBirth: null }), 0, now)).toBe(false);
  });
});
