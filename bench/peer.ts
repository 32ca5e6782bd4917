/**
 * The peer Node users pick today: @vladmandic/face-api (SSD MobileNet v1 + 68 landmarks + ResNet-34
 * descriptor) on tfjs-wasm, main thread. One verification = describe both images, compare.
 * Used by bench/engine.ts and bench/cost.ts, which compare the local engine with it in the same run.
 */
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/paths';

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const ms = (v: number) => Number(v.toFixed(1));

export type PeerResult = { ok: true; backend: string; p50Ms: number; p95Ms: number; note: string } | { ok: false; error: string };

/** face-api's p50/p95 for `requests` verifications of `probe` against `reference` (after 3 warm-up ones). */
export async function faceApi(probe: Uint8Array, reference: Uint8Array, requests: number): Promise<PeerResult> {
  try {
    /* eslint-disable @typescript-eslint/no-require-imports */
    const faceapi = require('@vladmandic/face-api/dist/face-api.node-wasm.js');
    const sharp = require('sharp');
    await faceapi.tf.setBackend('wasm');
    await faceapi.tf.ready();
    const models = join(PROJECT_ROOT, 'node_modules/@vladmandic/face-api/model');
    await faceapi.nets.ssdMobilenetv1.loadFromDisk(models);
    await faceapi.nets.faceLandmark68Net.loadFromDisk(models);
    await faceapi.nets.faceRecognitionNet.loadFromDisk(models);
    const describe = async (bytes: Uint8Array) => {
      const { data, info } = await sharp(bytes).rotate().removeAlpha().raw().toBuffer({ resolveWithObject: true });
      const tensor = faceapi.tf.tensor3d(new Int32Array(data), [info.height, info.width, 3], 'int32');
      try {
        const face = await faceapi.detectSingleFace(tensor, new faceapi.SsdMobilenetv1Options({ minConfidence: 0.5 })).withFaceLandmarks().withFaceDescriptor();
        if (!face) throw new Error('face-api found no face');
        return face.descriptor as Float32Array;
      } finally {
        tensor.dispose();
      }
    };
    const once = async () => {
      const t0 = performance.now();
      faceapi.euclideanDistance(await describe(probe), await describe(reference));
      return performance.now() - t0;
    };
    for (let i = 0; i < 3; i++) await once();
    const times: number[] = [];
    for (let i = 0; i < requests; i++) times.push(await once());
    return { ok: true, backend: faceapi.tf.getBackend(), p50Ms: ms(percentile(times, 0.5)), p95Ms: ms(percentile(times, 0.95)), note: 'match only: face-api has no liveness model' };
  } catch (e) {
    return { ok: false, error: `face-api could not run here: ${(e as Error).message}` };
  }
}
