/**
 * SigV4 verification for the Rekognition emulator, with the SDK's own signer
 * (@smithy/signature-v4, a dependency of @aws-sdk/client-rekognition): rebuild the request from the
 * headers the client says it signed, sign it again with the secret the emulator knows for that
 * access key and the client's X-Amz-Date, and compare signatures.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { SignatureV4 } from '@smithy/signature-v4';

export interface EmulatorCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** node:crypto behind the smithy `Checksum` interface (HMAC when constructed with a secret) */
class NodeSha256 {
  private readonly h;
  constructor(secret?: string | Uint8Array) {
    this.h = secret === undefined ? createHash('sha256') : createHmac('sha256', secret);
  }
  update(data: Uint8Array | string): void {
    this.h.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.h.digest());
  }
}

export type SigV4Failure = { type: string; status: number; message: string };

const AUTH = /^AWS4-HMAC-SHA256 Credential=([^/\s,]+)\/(\d{8})\/([^/\s,]+)\/([^/\s,]+)\/aws4_request,\s*SignedHeaders=([a-z0-9;\-]+),\s*Signature=([0-9a-f]{64})$/;

/** AWS's `X-Amz-Date` (YYYYMMDD'T'HHMMSS'Z') as a Date, or undefined */
function parseAmzDate(v: string | undefined): Date | undefined {
  const m = v && /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(v);
  return m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])) : undefined;
}

/**
 * undefined when the request is correctly signed for `service` in `region` by a known key, else
 * the AWS error to answer with.
 */
export async function verifySigV4(
  req: { method: string; path: string; headers: IncomingHttpHeaders; body: Buffer },
  opts: { service: string; region: string; credentials: readonly EmulatorCredentials[]; verifySignature: boolean; maxSkewMs?: number },
): Promise<SigV4Failure | undefined> {
  const auth = req.headers.authorization;
  if (!auth) return { type: 'MissingAuthenticationTokenException', status: 403, message: 'Missing Authentication Token' };
  const m = AUTH.exec(auth);
  if (!m) {
    return { type: 'IncompleteSignatureException', status: 403, message: `Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters (AWS4-HMAC-SHA256).` };
  }
  const [, accessKeyId, shortDate, region, service, signedHeaders, signature] = m;
  const amzDate = req.headers['x-amz-date'] as string | undefined;
  const date = parseAmzDate(amzDate);
  if (!date) return { type: 'IncompleteSignatureException', status: 403, message: 'Authorization header requires existence of either a \'X-Amz-Date\' or a \'Date\' header.' };
  if (service !== opts.service) {
    return { type: 'InvalidSignatureException', status: 403, message: `Credential should be scoped to correct service: '${opts.service}'.` };
  }
  if (region !== opts.region) {
    return { type: 'InvalidSignatureException', status: 403, message: `Credential should be scoped to a valid region, not '${region}'.` };
  }
  if (!amzDate!.startsWith(shortDate)) return { type: 'InvalidSignatureException', status: 403, message: 'Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP.' };
  if (Math.abs(Date.now() - date.getTime()) > (opts.maxSkewMs ?? 15 * 60_000)) {
    return { type: 'InvalidSignatureException', status: 403, message: 'Signature expired: the request time is more than 15 minutes from the server time.' };
  }
  const creds = opts.credentials.find((c) => c.accessKeyId === accessKeyId);
  if (!creds) return { type: 'UnrecognizedClientException', status: 400, message: 'The security token included in the request is invalid.' };
  const names = signedHeaders.split(';');
  for (const required of ['host', 'x-amz-date']) {
    if (!names.includes(required)) return { type: 'InvalidSignatureException', status: 403, message: `'${required}' must be a signed header.` };
  }
  if (creds.sessionToken && req.headers['x-amz-security-token'] !== creds.sessionToken) {
    return { type: 'UnrecognizedClientException', status: 400, message: 'The security token included in the request is invalid.' };
  }
  const claimed = req.headers['x-amz-content-sha256'];
  if (typeof claimed === 'string' && claimed !== 'UNSIGNED-PAYLOAD' && claimed !== createHash('sha256').update(req.body).digest('hex')) {
    return { type: 'InvalidSignatureException', status: 403, message: 'The provided x-amz-content-sha256 header does not match what was computed.' };
  }
  if (!opts.verifySignature) return undefined;

  const headers: Record<string, string> = {};
  for (const n of names) {
    const v = req.headers[n];
    if (v === undefined) return { type: 'InvalidSignatureException', status: 403, message: `Signed header '${n}' is missing from the request.` };
    headers[n] = Array.isArray(v) ? v.join(',') : v;
  }
  const [path, query = ''] = req.path.split('?');
  const signer = new SignatureV4({ credentials: creds, region, service, sha256: NodeSha256 as never, applyChecksum: false });
  const resigned = await signer.sign(
    {
      method: req.method,
      protocol: 'http:',
      hostname: String(req.headers.host ?? '').split(':')[0],
      path,
      query: Object.fromEntries(new URLSearchParams(query)),
      headers,
      body: new Uint8Array(req.body),
    } as never,
    { signingDate: date, signableHeaders: new Set(names), signingRegion: region, signingService: service },
  );
  const expected = /Signature=([0-9a-f]{64})/.exec((resigned as { headers: Record<string, string> }).headers.authorization)?.[1] ?? '';
  if (expected.length !== signature.length || !timingSafeEqual(Buffer.from(expected), Buffer.from(signature))) {
    return {
      type: 'InvalidSignatureException',
      status: 403,
      message: 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.',
    };
  }
  return undefined;
}
