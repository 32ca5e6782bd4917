/**
 * The emulators' default scorer end to end: the adapters see realistic numbers (from the local
 * ONNX engine when it loads, else the documented deterministic fallback), and those numbers go
 * through the default calibration tables to sensible decisions.
 */
import { createFaciaProvider } from '../../providers/facia';
import { createRekognitionProvider } from '../../providers/rekognition';
import type { CallContext, Provider } from '../../providers/types';
import { CalibrationRegistry } from '../../src/verification/calibration';
import { DEFAULT_THRESHOLDS } from '../../src/verification/decide';
import { startFaciaEmulator, type FaciaEmulator } from '../fakes/facia-emulator';
import { FACES, loadFace } from '../fakes/images';
import { startRekognitionEmulator, type RekognitionEmulator } from '../fakes/rekognition-emulator';
import { closeLocalScorer, defaultScorerName } from '../fakes/scorer';

const ctx: CallContext = { signal: new AbortController().signal, requestId: 'req-default-scorer' };
const obama = loadFace(FACES.obama);
const obama2 = loadFace(FACES.obama2);
const biden = loadFace(FACES.biden);

describe('emulators with the default scorer', () => {
  let mode: 'local' | 'fallback';
  let facia: FaciaEmulator;
  let rekognition: RekognitionEmulator;
  let providers: Provider[];
  const calibration = CalibrationRegistry.loadDefaults();

  beforeAll(async () => {
    mode = await defaultScorerName();
    facia = await startFaciaEmulator();
    rekognition = await startRekognitionEmulator();
    providers = [
      createFaciaProvider({ url: facia.url, hashId: facia.hashId, timeoutMs: 30000 }),
      createRekognitionProvider({ region: rekognition.region, endpoint: rekognition.url, credentials: rekognition.credentials, timeoutMs: 30000 }),
    ];
  }, 120000);
  afterAll(async () => {
    await Promise.all(providers.map((p) => p.close?.()));
    await Promise.all([facia.close(), rekognition.close()]);
    await closeLocalScorer();
  });

  it.each([0, 1])('identical images are a confident match (provider %i)', async (i) => {
    const out = await providers[i].check({ probe: obama, reference: obama, match: true, liveness: false }, ctx);
    expect(calibration.unifyMatch(out.match!).fmr).toBeLessThanOrEqual(DEFAULT_THRESHOLDS.acceptFmr);
  });

  it.each([0, 1])('different people are rejected (provider %i)', async (i) => {
    const out = await providers[i].check({ probe: biden, reference: obama, match: true, liveness: false }, ctx);
    expect(calibration.unifyMatch(out.match!).fmr).toBeGreaterThan(DEFAULT_THRESHOLDS.inconclusiveFmr);
  });

  it.each([0, 1])('two photos of one person: accepted by the local engine, rejected by the digest fallback (provider %i)', async (i) => {
    const out = await providers[i].check({ probe: obama2, reference: obama, match: true, liveness: false }, ctx);
    const { fmr } = calibration.unifyMatch(out.match!);
    if (mode === 'local') expect(fmr).toBeLessThanOrEqual(DEFAULT_THRESHOLDS.acceptFmr);
    else expect(fmr).toBeGreaterThan(DEFAULT_THRESHOLDS.inconclusiveFmr);
  });

  it('Facia’s liveness comes from the scorer too', async () => {
    const out = await providers[0].check({ probe: obama2, reference: obama, match: true, liveness: true }, ctx);
    expect(out.liveness!.score).toBeGreaterThan(0.5);
    expect(out.liveness!.providerLive).toBe(true);
  });
});
