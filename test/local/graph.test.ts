/**
 * The load-time rewrites (providers/local/graph.ts) on the real models: the rewritten graph
 * computes the same function (outputs equal to float rounding on real faces), no denormal weight
 * is left, and models with nothing to rewrite come back byte for byte.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPack } from '../../providers/local';
import { CHANNEL_BLOCK, decomposePRelu, flushNegligibleWeights, prepareModel, widenDepthwise } from '../../providers/local/graph';
import { readVerified, type TensorInput } from '../../providers/local/pack';
import { decode, rectView, sampleTensor } from '../../providers/local/raster';
import { openModel } from '../../providers/local/runtime';
import { FACES } from './support';

const pack = loadPack({ pack: 'faceplugin' });
const { models } = pack.manifest;

/** a face-sized crop of a real photo, as the model's input tensor */
async function faceTensor(file: string, input: TensorInput): Promise<Float32Array> {
  const img = await decode(readFileSync(join(FACES, file)), { maxInputPixels: 4e7, maxSide: 1280 });
  const side = Math.min(img.width, img.height) * 0.6;
  return sampleTensor(img, rectView((img.width - side) / 2, (img.height - side) / 2, side, side, input.width, input.height), input);
}

/** Every output of the rewritten model equals the original's to 1e-5 relative, on three real faces. */
async function expectSameOutputs(spec: { file: string; input: TensorInput }, original: Uint8Array, rewritten: Uint8Array) {
  const [a, b] = await Promise.all([openModel(original, spec.file, { threads: 1 }), openModel(rewritten, spec.file, { threads: 1 })]);
  const dims = [1, spec.input.colour === 'GREY' ? 1 : 3, spec.input.height, spec.input.width];
  for (const file of ['deepface/img1.jpg', 'silent-face/image_F1.jpg', 'nvlong21-antispoof/real/0001_00_00_01_0.jpg']) {
    const x = await faceTensor(file, spec.input);
    const [ya, yb] = await Promise.all([a.run(spec.input.name, x, dims), b.run(spec.input.name, x, dims)]);
    for (const name of a.outputNames) {
      const scale = Math.max(...ya[name].map(Math.abs));
      const worst = Math.max(...ya[name].map((v, i) => Math.abs(v - yb[name][i])));
      expect(scale).toBeGreaterThan(0);
      expect(worst / scale).toBeLessThan(1e-5);
    }
  }
}

describe('PRelu rewrite', () => {
  it.each([
    { label: 'embedder', spec: models.embedder },
    { label: 'liveness', spec: models.liveness[0] },
  ])('$label: every PRelu replaced, outputs unchanged on real faces', async ({ spec }) => {
    const original = readVerified(pack, spec);
    const rewritten = decomposePRelu(original);
    expect(rewritten.prelu).toBe(33);
    expect(Buffer.from(rewritten.bytes).includes('PRelu')).toBe(false);
    await expectSameOutputs(spec, original, rewritten.bytes);
  });

  it('leaves a model without PRelu byte for byte', () => {
    for (const spec of [models.detector, models.landmarks]) {
      const bytes = readVerified(pack, spec);
      const out = decomposePRelu(bytes);
      expect(out.prelu).toBe(0);
      expect(out.bytes).toBe(bytes);
    }
  });

  it('refuses bytes that are not a protobuf instead of passing them on half-read', () => {
    expect(() => decomposePRelu(Buffer.from([0x3a, 0xff, 0xff, 0xff]))).toThrow(/truncated protobuf/);
  });
});

describe('negligible weights', () => {
  const counted = (bytes: Uint8Array) => flushNegligibleWeights(bytes).flushed;

  it.each([
    { label: 'embedder', spec: models.embedder, before: 203561 },
    { label: 'landmarks', spec: models.landmarks, before: 26568 },
    { label: 'liveness', spec: models.liveness[0], before: 41603 },
  ])('$label: all $before flushed to zero, outputs unchanged on real faces', async ({ spec, before }) => {
    const original = readVerified(pack, spec);
    const flushed = flushNegligibleWeights(original);
    expect(flushed.flushed).toBe(before);
    expect(counted(flushed.bytes)).toBe(0);
    // patched in a copy: same length, and the published bytes are not touched
    expect(flushed.bytes.length).toBe(original.length);
    expect(Buffer.compare(Buffer.from(original), readVerified(pack, spec))).toBe(0);
    await expectSameOutputs(spec, original, flushed.bytes);
  });

  it('the alternative pack: YuNet loses 3 values, the MiniFASNets none, outputs unchanged', async () => {
    const shared = loadPack({ pack: 'shared-yunet' });
    const { detector, liveness } = shared.manifest.models;
    const yunet = readVerified(shared, detector);
    const flushed = flushNegligibleWeights(yunet);
    expect(flushed.flushed).toBe(3);
    await expectSameOutputs(detector, yunet, flushed.bytes);
    for (const spec of liveness) expect(flushNegligibleWeights(readVerified(shared, spec)).flushed).toBe(0);
  });

  it('leaves a model with nothing to flush byte for byte; prepareModel does all three rewrites', () => {
    const detector = readVerified(pack, models.detector);
    expect(flushNegligibleWeights(detector).bytes).toBe(detector);
    const prepared = prepareModel(readVerified(pack, models.embedder));
    expect(prepared).toMatchObject({ prelu: 33, flushed: 203561, widened: 0 });
    expect(prepareModel(readVerified(pack, models.liveness[0]))).toMatchObject({ prelu: 33, flushed: 41603, widened: 15 });
    expect(counted(prepared.bytes)).toBe(0);
  });
});

describe('depthwise widening', () => {
  const shared = loadPack({ pack: 'shared-yunet' });
  const miniFasNets = [
    { label: 'fr_liveness', pack, spec: models.liveness[0] },
    ...shared.manifest.models.liveness.map((spec) => ({ label: spec.file, pack: shared, spec })),
  ];

  it.each(miniFasNets)('$label: its 15 odd-width blocks widened to whole channel blocks, outputs unchanged on real faces', async ({ pack: p, spec }) => {
    const original = readVerified(p, spec);
    const wide = widenDepthwise(original);
    expect(wide.widened).toBe(15);
    expect(widenDepthwise(wide.bytes).widened).toBe(0); // nothing odd left
    expect(CHANNEL_BLOCK % 8).toBe(0);
    await expectSameOutputs(spec, original, wide.bytes);
    await expectSameOutputs(spec, original, prepareModel(original).bytes); // with the other rewrites
  });

  it('leaves models without such blocks byte for byte', () => {
    const others = [models.detector, models.landmarks, models.embedder].map((spec) => readVerified(pack, spec));
    others.push(readVerified(shared, shared.manifest.models.detector));
    for (const bytes of others) expect(widenDepthwise(bytes)).toEqual({ bytes, widened: 0 });
  });
});
