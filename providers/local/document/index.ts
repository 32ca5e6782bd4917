/** The document side: MRZ reading, applicant and policy checks, chip passive authentication. */
export { loadMrzReader, mrzOfLines, readMrz, type MrzDocument, type MrzFieldCheck, type MrzRead, type MrzReader, type ReadOptions } from './mrz';
export { loadLineModel, type LineModel } from './recognise';
export { compareApplicant, documentReasons, oldEnough, type Applicant, type DocumentPolicy, type DocumentReason } from './applicant';
export { verifyChip, CHIP_LIMITS, type ChipFiles, type ChipReason, type ChipResult, type VerifyOptions } from './chip';
export { loadTrustStore, trustStore, certificatesIn, type TrustStore } from './trust';
export { ChipInputError, type ChipErrorCode } from './tlv';
export { transliterate, transliterations, checkDigit } from './icao';
