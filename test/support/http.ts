import { VerigateError } from '../../src/errors';

/** Reading an HTTP answer in tests: status, headers, raw text, and the JSON if it parses. */
export async function readAnswer(res: Response): Promise<{ status: number; headers: Headers; text: string; json: any }> {
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** The error code a promise rejects with (a VerigateError's), or 'ACCEPTED' when it resolves. */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof VerigateError) return e.code;
    throw e;
  }
  return 'ACCEPTED';
}
