/**
 * `verigate emulate facia|rekognition` (test/fakes/run.ts): the environment it prints is enough to
 * run a real check through the real adapter, as `createProviders` builds it from that environment
 * (the Rekognition credentials included); a port in use or a bad flag is one line, not a stack.
 */
import { createServer, type Server } from 'node:net';
import type { Provider } from '../../providers/types';
import { loadConfig } from '../../src/config';
import { createProviders } from '../../src/providers';
import { closeLocalScorer } from '../fakes/scorer';
import { startEmulator, type Running } from '../fakes/run';
import { faceBytes } from '../support/faces';
import { parseImageInput } from '../../src/images';

const SELFIE = 'idenfy-documents/TheresaMayFace.jpg';
const DOCUMENT = 'idenfy-documents/TheresaMay.jpg';

/** what the command printed, and the KEY=value pairs of its "point Verigate at it with:" line */
async function start(args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const started = await startEmulator(args, (l) => out.push(l), (l) => err.push(l));
  const line = out.find((l) => l.startsWith('point Verigate at it with: ')) ?? '';
  const env = Object.fromEntries(line.replace('point Verigate at it with: ', '').split(' ').filter(Boolean).map((kv) => kv.split('=', 2) as [string, string]));
  return { started, out, err, env };
}

describe('verigate emulate', () => {
  const running: Running[] = [];
  const providers: Provider[] = [];
  const saved = { ...process.env };
  afterEach(async () => {
    process.env = { ...saved };
    for (const p of providers.splice(0)) await p.close?.();
    for (const r of running.splice(0)) await r.close();
  });
  afterAll(() => closeLocalScorer());

  /** a check through the provider `createProviders` builds from the printed environment */
  async function checkWith(env: Record<string, string>, name: 'facia' | 'rekognition') {
    Object.assign(process.env, env); // the AWS chain reads credentials and endpoint from the process
    const [provider] = await createProviders(loadConfig({ ...env, VERIGATE_PROVIDERS: name }));
    providers.push(provider);
    const probe = await parseImageInput(faceBytes(SELFIE).toString('base64'), 'selfie');
    const reference = await parseImageInput(faceBytes(DOCUMENT).toString('base64'), 'document');
    return provider.check({ probe, reference, match: true, liveness: false }, { signal: AbortSignal.timeout(20_000), requestId: 'emulate-test' });
  }

  it('facia: prints FACIA_URL and FACIA_HASH_ID, and a check with them succeeds', async () => {
    const { started, env } = await start(['facia', '--hash-id', 'dev-hash-id']);
    running.push(started as Running);
    expect(Object.keys(env)).toEqual(['FACIA_URL', 'FACIA_HASH_ID']);
    expect(env.FACIA_HASH_ID).toBe('dev-hash-id');
    const outcome = await checkWith(env, 'facia');
    expect(outcome.match?.scale).toBe('unit');
  }, 60_000);

  it('rekognition: prints the region, endpoint and the access key with its secret, and a check with them succeeds', async () => {
    const { started, env } = await start(['rekognition']);
    running.push(started as Running);
    expect(env).toMatchObject({ REKOGNITION_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIDEMULATOR', AWS_SECRET_ACCESS_KEY: 'emulator-secret' });
    expect(env.AWS_ENDPOINT_URL_REKOGNITION).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const outcome = await checkWith(env, 'rekognition');
    expect(outcome.match?.scale).toBe('percent');
  }, 60_000);

  it('a port in use is one line and exit 1; a bad flag or name prints the usage and exit 2', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const busy = await start(['facia', '--port', String(port)]);
      expect(busy.started).toBe(1);
      expect(busy.err).toEqual([`cannot start the facia emulator: port ${port} on 127.0.0.1 is already in use (choose another with --port, or leave it out for a free one)`]);
    } finally {
      blocker.close();
    }
    for (const args of [['facia', '--port', 'x'], ['acme'], [], ['rekognition', '--colour', 'red']]) {
      const bad = await start(args);
      expect({ args, code: bad.started }).toEqual({ args, code: 2 });
      expect(bad.err.join('\n')).toMatch(/usage: verigate emulate facia \[--port N\] \[--hash-id ID\]/);
    }
  });
});
