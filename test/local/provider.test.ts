import sharp from 'sharp';
import { createLocalProvider } from '../../providers/local';
import { type CheckOutcome, isProviderError, type Provider } from '../../providers/types';
import { ctx, face, image, unchecked } from './support';

let provider: Provider;

beforeAll(async () => {
  provider = createLocalProvider({ workers: 2 });
  await provider.init!();
});

afterAll(() => provider.close!());

const match = async (probe: string, reference: string) =>
  provider.check({ probe: await face(probe), reference: await face(reference), match: true, liveness: false }, ctx());

async function failure(p: Promise<unknown>) {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!isProviderError(e)) throw new Error(`expected a ProviderError, got ${String(e)}`);
  return e;
}

describe('local provider: face match', () => {
  it('scores the same person high and different people low', async () => {
    const same = await match('deepface/img1.jpg', 'deepface/img2.jpg');
    const different = await match('deepface/img1.jpg', 'deepface/img20.jpg');
    expect(same.match).toMatchObject({ scale: 'cosine', calibration: 'local/faceplugin-v1' });
    expect(same.match!.score).toBeGreaterThan(0.5);
    expect(different.match!.score).toBeLessThan(0.3);
  });

  it('finds the small face on a passport page (document as reference)', async () => {
    const same = await match('idenfy-documents/BarackObamaFace.jpg', 'idenfy-documents/BarackHusseinObama.jpg');
    const other = await match('idenfy-documents/TheresaMayFace.jpg', 'idenfy-documents/BarackHusseinObama.jpg');
    expect(same.match!.score).toBeGreaterThan(0.5);
    expect(other.match!.score).toBeLessThan(0.3);
  });

  it('keeps numbers, boxes and model ids in raw, never pixels or embeddings', async () => {
    const out: CheckOutcome = await match('deepface/img1.jpg', 'deepface/img2.jpg');
    expect(out.raw).toMatchObject({ cosine: out.match!.score, pack: 'faceplugin' });
    expect(out.raw.models).toMatchObject({ embedder: expect.stringMatching(/^faceplugin\/fr_feature\.onnx@87aacdfe/) });
    expect((out.raw.probe as { box: number[] }).box).toHaveLength(4);
    const json = JSON.stringify(out);
    expect(json).not.toMatch(/embedding/);
    expect(json.length).toBeLessThan(4000);
  });
});

describe('local provider: bad input', () => {
  it.each(['face_recognition/examples/two_people.jpg', 'deepface/couple.jpg'])('rejects %s as a probe: MULTIPLE_FACES', async (file) => {
    const e = await failure(match(file, 'deepface/img2.jpg'));
    expect(e).toMatchObject({ kind: 'BadInput', reason: 'MULTIPLE_FACES', provider: 'local' });
  });

  it('accepts a group photo as the reference (largest face)', async () => {
    await expect(match('deepface/img2.jpg', 'deepface/couple.jpg')).resolves.toHaveProperty('match.score');
  });

  it('reports NO_FACE on a flat grey image', async () => {
    const grey = await sharp({ create: { width: 640, height: 480, channels: 3, background: '#7f7f7f' } }).jpeg().toBuffer();
    const e = await failure(provider.check({ probe: await image(grey), reference: await face('deepface/img2.jpg'), match: true, liveness: false }, ctx()));
    expect(e).toMatchObject({ kind: 'BadInput', reason: 'NO_FACE' });
  });

  it('reports BAD_IMAGE on corrupt bytes', async () => {
    const corrupt = Buffer.from('\xff\xd8\xff\xe0 this is not really a jpeg', 'latin1');
    const e = await failure(provider.check({ probe: unchecked(corrupt), match: false, liveness: true }, ctx()));
    expect(e).toMatchObject({ kind: 'BadInput', reason: 'BAD_IMAGE' });
    expect(e.retryable).toBe(false);
  });
});

describe('local provider: liveness and health', () => {
  it('scores the print/replay attacks below the real capture', async () => {
    const live = async (file: string) => (await provider.check({ probe: await face(file), match: false, liveness: true }, ctx())).liveness!;
    const [real, f1, f2] = await Promise.all(['silent-face/image_T1.jpg', 'silent-face/image_F1.jpg', 'silent-face/image_F2.jpg'].map(live));
    expect(real).toMatchObject({ scale: 'unit' });
    expect(real.score).toBeGreaterThan(f1.score);
    expect(real.score).toBeGreaterThan(f2.score);
  });

  it('reports quality findings instead of silently accepting a tiny face', async () => {
    const tiny = await sharp((await face('deepface/img2.jpg')).bytes).resize({ width: 110 }).jpeg().toBuffer();
    const out = await provider.check({ probe: await image(tiny), reference: await face('deepface/img1.jpg'), match: true, liveness: false }, ctx());
    expect(out.quality).toContain('FACE_TOO_SMALL');
  });

  it('is healthy once initialised', async () => {
    await expect(provider.health(ctx())).resolves.toMatchObject({ ok: true });
  });
});
