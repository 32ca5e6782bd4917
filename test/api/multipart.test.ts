/**
 * Images as binary file parts (GraphQL multipart request spec) over real HTTP, with the local
 * engine: the same check as the base64 transport, and a clear BAD_REQUEST for every off-spec body,
 * with nothing stored for it.
 */
import { createHash } from 'node:crypto';
import { print } from 'graphql';
import { createLocalProvider } from '../../providers/local';
import type { Db } from '../../src/store/db';
import { VerifyIdentityDocument } from '../generated/graphql';
import { faceBase64, faceBytes } from '../support/faces';
import { startHarness, type Harness } from '../support/harness';
import { readAnswer } from '../support/http';
import { PGLITE } from '../support/stores';

const SELFIE = 'idenfy-documents/TheresaMayFace.jpg';
const DOCUMENT = 'idenfy-documents/TheresaMay.jpg';
const QUERY = print(VerifyIdentityDocument);
const PLACEHOLDERS = { query: QUERY, variables: { input: { selfie: null, document: null } } };
const MAP = { s: ['variables.input.selfie'], d: ['variables.input.document'] };

/** A multipart body part by part, so a test can send what no well-behaved client library would. */
type Part = { name: string; text: string } | { name: string; file: Buffer };
const BOUNDARY = 'verigate-test-boundary';
function body(parts: Part[], { close = true } = {}): Buffer {
  const chunks = parts.map((p) =>
    'text' in p
      ? Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${p.name}"\r\n\r\n${p.text}\r\n`)
      : Buffer.concat([
          Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${p.name}"; filename="${p.name}.jpg"\r\nContent-Type: image/jpeg\r\n\r\n`),
          p.file,
          Buffer.from('\r\n'),
        ]),
  );
  return Buffer.concat([...chunks, Buffer.from(close ? `--${BOUNDARY}--\r\n` : '')]);
}
const text = (name: string, value: unknown): Part => ({ name, text: typeof value === 'string' ? value : JSON.stringify(value) });
const files = (): Part[] => [
  { name: 's', file: faceBytes(SELFIE) },
  { name: 'd', file: faceBytes(DOCUMENT) },
];

describe('multipart uploads', () => {
  let db: Db;
  let h: Harness;
  let key: string;
  const checksStored = async () => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM checks'))[0].n;
  const post = async (payload: Buffer | FormData, contentType?: string) =>
    readAnswer(
      await fetch(h.url, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, ...(contentType ? { 'content-type': contentType } : {}) },
        body: payload,
      }),
    );

  beforeAll(async () => {
    db = await PGLITE.open();
    h = await startHarness({ db, providers: [createLocalProvider({ workers: 2 })] });
    key = (await h.tenant('multipart', 'local')).key;
  });
  afterAll(async () => {
    await h?.close();
    await PGLITE.dispose(db);
  });

  it('verifyIdentity with the images as file parts (FormData) gives the check the base64 request gives', async () => {
    const form = new FormData();
    form.set('operations', JSON.stringify(PLACEHOLDERS));
    form.set('map', JSON.stringify(MAP));
    form.set('s', new Blob([faceBytes(SELFIE)], { type: 'image/jpeg' }), 'selfie.jpg');
    form.set('d', new Blob([faceBytes(DOCUMENT)], { type: 'image/jpeg' }), 'document.jpg');
    const viaFiles = await post(form);
    expect(viaFiles.status).toBe(200);
    const check = viaFiles.json.data.verifyIdentity;
    expect(check).toMatchObject({ status: 'ACCEPTED', provider: 'local', reasons: [] });
    // the digests are of the files as sent
    const sha = (rel: string) => createHash('sha256').update(faceBytes(rel)).digest('hex');
    expect(check.imageDigests).toMatchObject({ selfie: sha(SELFIE), document: sha(DOCUMENT) });

    const viaJson = (await h.gql(VerifyIdentityDocument, { input: { selfie: faceBase64(SELFIE), document: faceBase64(DOCUMENT) } }, key)).data!.verifyIdentity;
    expect(check.faceMatch).toEqual(viaJson.faceMatch);
    expect(check.liveness).toEqual(viaJson.liveness);
    expect(check.imageDigests).toEqual(viaJson.imageDigests);
  });

  it('one file may fill several placeholders, in any order of parts', async () => {
    const res = await post(
      body([{ name: 'face', file: faceBytes(SELFIE) }, text('map', { face: ['variables.input.selfie', 'variables.input.document'] }), text('operations', PLACEHOLDERS)]),
      `multipart/form-data; boundary=${BOUNDARY}`,
    );
    expect(res.json.data.verifyIdentity.status).toBe('ACCEPTED');
  });

  it('a file part reaches validation as its bytes: the token in its place means nothing in any other request', async () => {
    // the variables hold `upload:<random per request>:<part>` where a file goes; a JSON request
    // that sends such a string (or a multipart one that names a part it did not send) has a
    // string that is not base64, refused as any other
    for (const token of ['upload:00000000-0000-0000-0000-000000000000:s', 'upload:s']) {
      const viaJson = await h.gql(VerifyIdentityDocument, { input: { selfie: token, document: faceBase64(DOCUMENT) } }, key);
      expect(viaJson.errors?.[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'selfie' });
      const ops = { query: QUERY, variables: { input: { selfie: token, document: null } } };
      const viaFiles = await post(body([text('operations', ops), text('map', { d: ['variables.input.document'] }), { name: 'd', file: faceBytes(DOCUMENT) }]), `multipart/form-data; boundary=${BOUNDARY}`);
      expect(viaFiles.json.errors[0].extensions).toMatchObject({ code: 'BAD_USER_INPUT', field: 'selfie' });
    }
  });

  it('a file that is not an image is refused like a base64 one, naming its field', async () => {
    const pdf = Buffer.from('%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n');
    const res = await post(
      body([text('operations', PLACEHOLDERS), text('map', MAP), { name: 's', file: pdf }, { name: 'd', file: faceBytes(DOCUMENT) }]),
      `multipart/form-data; boundary=${BOUNDARY}`,
    );
    expect(res.status).toBe(200);
    expect(res.json.errors[0].extensions).toMatchObject({ code: 'UNSUPPORTED_IMAGE_FORMAT', field: 'selfie' });
    expect(res.json.errors[0].message).toMatch(/PDF/);
  });

  it('a file over the per-image limit is IMAGE_TOO_LARGE in bytes as sent, not in base64 text', async () => {
    // a real photo with 16 MB of trailing bytes (JPEG readers ignore what follows the image)
    const big = Buffer.concat([faceBytes(SELFIE), Buffer.alloc(16_000_000 - faceBytes(SELFIE).length)]);
    const before = await checksStored();
    const res = await post(body([text('operations', PLACEHOLDERS), text('map', MAP), { name: 's', file: big }, { name: 'd', file: faceBytes(DOCUMENT) }]), `multipart/form-data; boundary=${BOUNDARY}`);
    expect(res.status).toBe(413);
    expect(res.json.errors[0].extensions).toMatchObject({ code: 'IMAGE_TOO_LARGE', field: 'selfie', bytes: 16_000_000, maxBytes: 10 * 1024 * 1024 });
    expect(res.json.errors[0].message).toBe('Image "selfie" (file part "s") is too large: 16000000 bytes (15.3 MiB), the limit is 10485760 bytes (10.0 MiB)');
    expect(await checksStored()).toBe(before);
  });

  const ct = `multipart/form-data; boundary=${BOUNDARY}`;
  const offSpec: Array<[string, Buffer, string, RegExp]> = [
    ['no operations field', body([text('map', MAP), ...files()]), ct, /no "operations" field/],
    ['operations not JSON', body([text('operations', '{"query":'), text('map', MAP), ...files()]), ct, /"operations" is not valid JSON/],
    ['a batch', body([text('operations', [PLACEHOLDERS]), text('map', MAP), ...files()]), ct, /Batched requests are not supported/],
    ['no map field', body([text('operations', PLACEHOLDERS), ...files()]), ct, /no "map" field/],
    ['map not an object', body([text('operations', PLACEHOLDERS), text('map', ['s']), ...files()]), ct, /"map" must be a JSON object/],
    ['map entry not a list of paths', body([text('operations', PLACEHOLDERS), text('map', { s: 'variables.input.selfie', d: MAP.d }), ...files()]), ct, /"map" entry "s" must be a non-empty array/],
    ['map path to a value that is not null', body([text('operations', { query: QUERY, variables: { input: { selfie: 'x', document: null } } }), text('map', MAP), ...files()]), ct, /"map" path "variables.input.selfie" does not point to a null placeholder/],
    ['map path to a missing key', body([text('operations', PLACEHOLDERS), text('map', { s: ['variables.input.portrait'], d: MAP.d }), ...files()]), ct, /"variables.input.portrait" does not point/],
    ['map path outside the variables', body([text('operations', { ...PLACEHOLDERS, extensions: { x: null } }), text('map', { s: ['extensions.x'], d: MAP.d }), ...files()]), ct, /"extensions.x" does not point/],
    [
      'map path through __proto__',
      body([text('operations', `{"query":${JSON.stringify(QUERY)},"variables":{"__proto__":{"polluted":null},"input":{"selfie":null,"document":null}}}`), text('map', { s: ['variables.__proto__.polluted'], d: MAP.d }), ...files()]),
      ct,
      /"variables.__proto__.polluted" does not point/,
    ],
    ['map names a file that was not sent', body([text('operations', PLACEHOLDERS), text('map', MAP), files()[0]]), ct, /names the file part "d", but the request has no such file part/],
    ['a file not in map', body([text('operations', PLACEHOLDERS), text('map', MAP), ...files(), { name: 'extra', file: Buffer.from('x') }]), ct, /file part "extra" is not in "map"/],
    ['a file sent twice', body([text('operations', PLACEHOLDERS), text('map', MAP), ...files(), files()[0]]), ct, /the file part "s" is sent twice/],
    ['too many files', body([text('operations', PLACEHOLDERS), text('map', MAP), ...Array.from({ length: 9 }, (_, i) => ({ name: `f${i}`, file: Buffer.from('x') }))]), ct, /at most 8 files/],
    ['a body cut before its closing boundary', body([text('operations', PLACEHOLDERS), text('map', MAP), ...files()], { close: false }), ct, /malformed multipart request/],
    ['no boundary in the content type', body([text('operations', PLACEHOLDERS), text('map', MAP), ...files()]), 'multipart/form-data', /malformed multipart request: .*[Bb]oundary/],
  ];
  it.each(offSpec)('%s: 400 BAD_REQUEST that says what is wrong, nothing stored', async (_, payload, contentType, message) => {
    const before = await checksStored();
    const res = await post(payload, contentType);
    expect(res.status).toBe(400);
    expect(res.json.errors[0].extensions.code).toBe('BAD_REQUEST');
    expect(res.json.errors[0].message).toMatch(message);
    expect(await checksStored()).toBe(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('the body limit holds for multipart bodies too', async () => {
    const small = await startHarness({ db, providers: [], env: { VERIGATE_MAX_BODY_BYTES: String(64 * 1024) } });
    try {
      const res = await readAnswer(
        await fetch(small.url, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': ct }, body: body([text('operations', PLACEHOLDERS), text('map', MAP), ...files()]) }),
      );
      expect(res.status).toBe(413);
      expect(res.json.errors[0].extensions.code).toBe('PAYLOAD_TOO_LARGE');
    } finally {
      await small.close();
    }
  });
});
