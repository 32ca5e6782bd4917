/**
 * What the document check costs a `verifyIdentity` over HTTP, with the local engine on the
 * embedded store (PGlite in memory): the same specimen passport and selfie, one check at a time,
 * the three variants interleaved so machine noise hits them alike —
 *   face      the face match alone (no document check);
 *   mrz       + `applicant`: the MRZ read in the engine's worker on the page's decode;
 *   chip      + `applicant` + `chip` (passive authentication at the edge, under a test CSCA; the
 *             chip's face becomes the match's reference, so the page is read apart from it).
 * Also the worker's own `mrz` stage time (from the attempt's audit, admin view) and the edge's chip
 * verification alone. Wall times from the client's `fetch()` to its parsed answer.
 *
 *   npm run build && node dist/bench/document-http.js [--n 30]
 *
 * Writes bench/reports/document-http.json.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createLocalProvider } from '../providers/local';
import { trustStore, verifyChip } from '../providers/local/document';
import { X509Certificate } from 'node:crypto';
import { createApp } from '../src/app';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/observability/logger';
import { startServer } from '../src/server';
import { openDb } from '../src/store/db';
import { buildDg1, buildDg2, ldsSecurityObject, makeTestPki, portrait, signSod } from '../test/corpus/chips';
import { SPECIMENS } from '../test/corpus/documents';
import { FACES_DIR } from '../test/support/faces';
import { summarise, writeReport } from './report';

const ADMIN = 'vg_bench_admin_key_0123456789abcdef';
const RESULT = 'id status reasons document { surname source } attempts { provider answers raw }';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { n: { type: 'string', default: '30' } } });
  const n = Number(values.n);
  const pki = makeTestPki();
  const cscaDir = mkdtempSync(join(tmpdir(), 'verigate-csca-'));
  writeFileSync(join(cscaDir, 'csca.pem'), pki.csca);
  const db = await openDb({ dataDir: 'memory://' });
  const config = loadConfig({ NODE_ENV: 'production', LOG_LEVEL: 'silent', VERIGATE_BOOTSTRAP_ADMIN_KEY: ADMIN, VERIGATE_CSCA_DIR: cscaDir });
  const app = await createApp(config, { db, providers: [createLocalProvider()], logger: createLogger('silent') });
  const server = await startServer(app, '127.0.0.1', 0);
  const url = `${server.url}/graphql`;
  const gql = async (key: string, query: string, variables: Record<string, unknown> = {}) => {
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ query, variables }) });
    const body = (await res.json()) as { data?: any; errors?: Array<{ message: string }> };
    if (body.errors) throw new Error(body.errors[0]!.message);
    return body.data;
  };
  try {
    const tenantId = (await gql(ADMIN, 'mutation { createTenant(name: "bench") { id } }')).createTenant.id;
    const key = (await gql(ADMIN, 'mutation($t: ID!) { createApiKey(role: tenant, tenantId: $t) { secret } }', { t: tenantId })).createApiKey.secret;
    const policy = { strategy: { type: 'single', provider: { provider: 'local' } }, require: { match: true, liveness: false } };
    await gql(ADMIN, 'mutation($t: ID!, $p: JSONObject!) { setTenantPolicy(tenantId: $t, policy: $p) { version } }', { t: tenantId, p: policy });

    const b64 = (rel: string) => readFileSync(join(FACES_DIR, rel)).toString('base64');
    const base = { selfie: b64('idenfy-documents/BasanavicieneBiruteFace.jpg'), document: b64('idenfy-documents/BasanavicieneBirute.jpg') };
    const applicant = { surname: 'Basanavičienė', givenNames: 'Birutė', dateOfBirth: '1990-03-11' };
    const lines = [...SPECIMENS[1].lines];
    const face = await portrait('idenfy-documents/BasanavicieneBiruteFace.jpg', 'jpeg');
    const dg1 = buildDg1(lines);
    const dg2 = buildDg2(face.image, 'jpeg', face.width, face.height);
    const sod = signSod(pki, 'ec', ldsSecurityObject({ 1: dg1, 2: dg2 }));
    const chip = { dg1: Buffer.from(dg1).toString('base64'), dg2: Buffer.from(dg2).toString('base64'), sod: Buffer.from(sod).toString('base64') };
    const variants = { face: base, mrz: { ...base, applicant }, chip: { ...base, applicant, chip } } as const;

    const verify = async (input: Record<string, unknown>) => {
      const t = performance.now();
      const r = (await gql(key, `mutation($i: VerifyIdentityInput!) { verifyIdentity(input: $i) { ${RESULT} } }`, { i: input })).verifyIdentity;
      return { ms: performance.now() - t, r };
    };
    // warm-up: the OCR model loads in each worker on its first page
    for (let i = 0; i < 4; i++) for (const input of Object.values(variants)) await verify(input);

    const wall: Record<keyof typeof variants, number[]> = { face: [], mrz: [], chip: [] };
    const mrzStage: number[] = [];
    const statuses = new Set<string>();
    for (let i = 0; i < n; i++) {
      for (const [name, input] of Object.entries(variants) as Array<[keyof typeof variants, Record<string, unknown>]>) {
        const { ms, r } = await verify(input);
        wall[name].push(ms);
        statuses.add(`${name}:${r.status}:${r.reasons.join('+')}:${r.document?.source ?? '-'}`);
        if (name === 'mrz') {
          const stored = (await gql(ADMIN, `query($id: ID!) { check(id: $id) { attempts { raw } } }`, { id: r.id })).check;
          const t = stored.attempts[0]?.raw?.mrz?.ms;
          if (typeof t === 'number') mrzStage.push(t);
        }
      }
    }
    // passive authentication at the edge, alone (with the face decoded, as the edge does)
    const trust = trustStore([new X509Certificate(pki.csca)]);
    const edge: number[] = [];
    for (let i = 0; i < n; i++) {
      const t = performance.now();
      await verifyChip({ dg1, dg2, sod }, trust);
      edge.push(performance.now() - t);
    }

    const summary = {
      benchmark: 'verifyIdentity over HTTP, local engine, PGlite in memory: the face match alone, + MRZ and applicant, + chip',
      images: { selfie: 'idenfy-documents/BasanavicieneBiruteFace.jpg', document: 'idenfy-documents/BasanavicieneBirute.jpg (600×410)' },
      outcomes: [...statuses].sort(),
      wallMs: { face: summarise(wall.face), mrz: summarise(wall.mrz), chip: summarise(wall.chip) },
      workerMrzStageMs: summarise(mrzStage),
      edgeChipVerificationMs: summarise(edge),
    };
    console.log(JSON.stringify(summary, null, 2));
    console.log(`written to ${writeReport('document-http', summary)}`);
  } finally {
    await server.close(); // closes the app too
    await db.close();
    pki.dispose();
    rmSync(cscaDir, { recursive: true, force: true });
  }
}

void main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
