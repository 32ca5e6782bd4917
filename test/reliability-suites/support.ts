/**
 * Small helpers shared by the reliability suites: raw HTTP to the gateway (status, text, parsed
 * JSON), row counts, and the checks every refusal must pass (typed code, no 5xx, no stack trace,
 * the input never echoed).
 */
import { print, type DocumentNode } from 'graphql';
import type { Db } from '../../src/store/db';
import { readAnswer } from '../support/http';

export interface RawAnswer {
  status: number;
  text: string;
  json: any;
  headers: Headers;
}

/** POST a GraphQL body (object → JSON, string → as is) with a key. */
export async function post(
  url: string,
  body: unknown,
  opts: { key?: string | null; headers?: Record<string, string>; method?: string } = {},
): Promise<RawAnswer> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...opts.headers };
  if (opts.key) headers.authorization = `Bearer ${opts.key}`;
  const res = await fetch(url, {
    method: opts.method ?? 'POST',
    headers,
    body: opts.method === 'GET' ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return readAnswer(res);
}

/** The body of a typed document with its variables. */
export const op = (doc: DocumentNode, variables: Record<string, unknown>) => ({ query: print(doc), variables });

export async function countRows(db: Db, table: 'checks' | 'attempts', where = 'TRUE', params: unknown[] = []): Promise<number> {
  const [{ n }] = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE ${where}`, params);
  return n;
}

/** A stack frame as node prints it ("at fn (file.ts:12:3)") or a bare file position. */
const STACK_LINE = /\bat\s+\S+\s+\(?[^()\s]+:\d+:\d+\)?|\/work\/|node_modules|\.ts:\d+/;

/**
 * Problems with a refusal (empty = fine): must be a typed error (JSON `errors[0].extensions.code`
 * in `codes`), a 4xx (never 5xx), without a stack trace, without echoing `secret`.
 */
export function refusalProblems(a: RawAnswer, codes: readonly string[], secret?: string): string[] {
  const problems: string[] = [];
  if (a.status >= 500) problems.push(`HTTP ${a.status}`);
  const code = a.json?.errors?.[0]?.extensions?.code;
  if (!codes.includes(code)) problems.push(`code ${String(code)} (HTTP ${a.status}), wanted ${codes.join('|')}: ${a.text.slice(0, 300)}`);
  if (a.json?.data && Object.values(a.json.data).some((v) => v !== null)) problems.push('returned data');
  if (/stacktrace/i.test(a.text) || STACK_LINE.test(a.text)) problems.push(`stack trace in the answer: ${a.text.slice(0, 300)}`);
  if (secret && a.text.includes(secret)) problems.push('the input is echoed in the answer');
  return problems;
}

/** A recognisable slice of a hostile value, to prove it is not echoed (null when too short or trivial to tell). */
export function echoProbe(value: string): string | undefined {
  if (value.length < 40) return undefined;
  const mid = value.slice(Math.floor(value.length / 2) - 16, Math.floor(value.length / 2) + 16);
  return new Set(mid).size > 3 ? mid : undefined;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
