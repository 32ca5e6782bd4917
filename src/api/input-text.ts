/**
 * Text a client sends, checked in one place before anything runs, and never echoed back.
 *
 * - Every string of a request — variables (at any depth, keys too) and literals in the document —
 *   is refused if it holds a NUL character or a lone UTF-16 surrogate (PostgreSQL cannot store the
 *   one; the other is not text, and two different keys with lone surrogates can encode to the same
 *   bytes). Every string but an image field (base64, bounded by the image limits) is at most
 *   MAX_TEXT characters. Refusals are BAD_USER_INPUT naming the field, never the value.
 * - `scrubInput` cuts any quoted value longer than ECHO_MAX out of an error message: GraphQL's own
 *   coercion errors ("Variable "$i" got invalid value …") would otherwise send a whole base64 image
 *   back to the client.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { Kind, visit, type DocumentNode } from 'graphql';
import { CHIP_LIMITS } from '../../providers/local/document/chip';
import { VerigateError } from '../errors';
import type { Context } from './context';

/** Input fields that carry images (base64 or data URIs), bounded by the image limits instead. */
const IMAGE_FIELDS = new Set(['selfie', 'document', 'source', 'target']);
/** The longest text any other string input may be. */
export const MAX_TEXT = 4096;
/** A chip's files (base64), bounded by the chip's limits (CHIP_LIMITS) instead; the resolver names the field. */
const CHIP_FIELDS: Record<string, number> = Object.fromEntries(Object.entries(CHIP_LIMITS).map(([k, n]) => [k, Math.ceil(n / 3) * 4 + 64]));
/** The most of a client's value an error message may repeat. */
export const ECHO_MAX = 64;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why `s` is not acceptable text in `field`, or null. */
export function textProblem(s: string, field: string, cap = IMAGE_FIELDS.has(field) ? Infinity : (CHIP_FIELDS[field] ?? MAX_TEXT)): string | null {
  if (s.includes('\u0000')) return 'contains a NUL character';
  if (LONE_SURROGATE.test(s)) return 'contains a lone UTF-16 surrogate (not valid Unicode text)';
  if (s.length > cap) return `is longer than ${cap} characters`;
  return null;
}

/** `field`: the argument or input field (as the other input errors name it); the message gives the whole path. */
const refuse = (path: string, field: string, problem: string) => new VerigateError('BAD_USER_INPUT', `${path} ${problem}`, { field, http: { status: 400 } });

function checkValue(v: unknown, path: string, field: string): void {
  if (typeof v === 'string') {
    const problem = textProblem(v, field);
    if (problem) throw refuse(path, field, problem);
  } else if (Array.isArray(v)) {
    v.forEach((x, i) => checkValue(x, `${path}[${i}]`, field));
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      const problem = textProblem(k, k, 256);
      if (problem) throw refuse(`a key in ${path}`, field, problem);
      checkValue(x, `${path}.${k}`, k);
    }
  }
}

function checkDocument(doc: DocumentNode): void {
  const fields: string[] = [];
  visit(doc, {
    ObjectField: { enter: (n) => void fields.push(n.name.value), leave: () => void fields.pop() },
    Argument: { enter: (n) => void fields.push(n.name.value), leave: () => void fields.pop() },
    StringValue(n) {
      const field = fields[fields.length - 1] ?? 'a string';
      const problem = textProblem(n.value, field);
      if (problem) throw refuse(field, field, problem);
    },
  });
}

export const inputTextPlugin: ApolloServerPlugin<Context> = {
  async requestDidStart() {
    return {
      async didResolveOperation({ request, document }) {
        for (const [name, value] of Object.entries(request.variables ?? {})) checkValue(value, `$${name}`, name);
        if (document.definitions.some((d) => d.kind === Kind.OPERATION_DEFINITION)) checkDocument(document);
      },
    };
  },
};

/** The message with every quoted value longer than ECHO_MAX replaced by its length. */
const LONG_QUOTED = new RegExp(`"((?:[^"\\\\]|\\\\.){${ECHO_MAX + 1},})"`, 'g');

export function scrubInput(message: string): string {
  const scrubbed = message
    .replace(LONG_QUOTED, (_, body: string) => `"…(${body.length} characters)"`)
    .replace(/\[[^\]]{200,}\]/g, (m) => `[…(${m.length} characters)]`);
  return scrubbed.length > 1000 ? `${scrubbed.slice(0, 997)}…` : scrubbed;
}

/** The dates a filter may name: years 1900..9999 (PostgreSQL's range is wider, but nothing is stored outside this one). */
export function checkDate(d: Date | undefined | null, field: string): void {
  if (d === undefined || d === null) return;
  const year = d.getUTCFullYear();
  if (Number.isNaN(d.getTime()) || year < 1900 || year > 9999) throw new VerigateError('BAD_USER_INPUT', `${field} must be a date between the years 1900 and 9999`, { field });
}
