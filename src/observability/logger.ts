/**
 * The one logger. Redaction is part of privacy: images, base64, API keys, Facia's hash_id and AWS
 * credentials never reach the log, whatever a caller passes in.
 */
import pino, { type Logger } from 'pino';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'headers.authorization',
  'headers["x-api-key"]',
  '*.selfie',
  '*.document',
  '*.source',
  '*.target',
  '*.image',
  '*.bytes',
  '*.hash_id',
  '*.hashId',
  '*.selfie_image',
  '*.document_image',
  '*.apiKey',
  '*.key',
  '*.secretAccessKey',
  '*.sessionToken',
  'variables',
  '*.variables',
  // a document's personal data: the applicant's, what its MRZ or chip says (CheckRecord.document is '*.document')
  '*.applicant',
  '*.chip',
  '*.chipFace',
  '*.dg1Mrz',
  '*.lines',
  '*.surname',
  '*.givenNames',
  '*.dateOfBirth',
  // one level deeper: the same fields inside a wrapper ({ req: { body: { variables } } }, { err: { request: { hash_id } } })
  '*.*.selfie',
  '*.*.document',
  '*.*.image',
  '*.*.bytes',
  '*.*.hash_id',
  '*.*.hashId',
  '*.*.apiKey',
  '*.*.secretAccessKey',
  '*.*.sessionToken',
  '*.*.variables',
  '*.*.applicant',
  '*.*.chip',
  '*.*.dg1Mrz',
  '*.*.lines',
  '*.*.authorization',
  '*.*["x-api-key"]',
  // no '*.credentials': overlapping with '*.*.secretAccessKey' it leaves the caller's object redacted (fast-redact)
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { service: 'verigate' } }, destination);
}

export type { Logger };
