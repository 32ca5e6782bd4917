import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalProvider, loadPack } from '../../providers/local';
import { MODELS_DIR } from '../../src/paths';
import { face } from './support';

const manifest = () => JSON.parse(readFileSync(join(MODELS_DIR, 'faceplugin.json'), 'utf8'));
const dir = mkdtempSync(join(tmpdir(), 'verigate-pack-'));

function writePack(name: string, edit: (m: ReturnType<typeof manifest>) => void): string {
  const m = manifest();
  edit(m);
  const path = join(dir, `${name}.json`);
  writeFileSync(path, JSON.stringify(m));
  return path;
}

describe('model packs', () => {
  it('loads the default pack by name with every file resolved into the model cache', () => {
    const pack = loadPack({ pack: 'faceplugin', modelCache: '/models' });
    expect(pack.files.get('faceplugin/fr_feature.onnx')).toBe('/models/faceplugin/fr_feature.onnx');
    expect(pack.manifest.calibration.match).toBe('local/faceplugin-v1');
  });

  it('resolves npm: references inside installed packages and absolute operator paths as given', () => {
    const path = writePack('npm-ref', (m) => {
      m.models.detector.file = 'npm:onnxruntime-node/package.json';
      m.models.embedder.file = '/opt/models/fr_feature.onnx';
    });
    const pack = loadPack({ pack: path });
    expect(pack.files.get('npm:onnxruntime-node/package.json')).toMatch(/node_modules\/onnxruntime-node\/package\.json$/);
    expect(pack.files.get('/opt/models/fr_feature.onnx')).toBe('/opt/models/fr_feature.onnx');
  });

  it('fails init with an error naming the file when a sha256 does not match', async () => {
    const path = writePack('bad-sha', (m) => {
      m.models.embedder.sha256 = '0'.repeat(64);
    });
    const provider = createLocalProvider({ pack: path, workers: 1 });
    await expect(provider.init!()).rejects.toThrow(/sha256 mismatch for .*fr_feature\.onnx: expected 0{64}, got 87aacdfe/);
    await provider.close!();
  });

  it('fails init with an error naming the file when a model is absent', async () => {
    const path = writePack('missing', (m) => {
      m.models.landmarks.file = './nowhere/fr_landmark.onnx';
    });
    const provider = createLocalProvider({ pack: path, workers: 1 });
    await expect(provider.init!()).rejects.toThrow(/model file \.\/nowhere\/fr_landmark\.onnx not found/);
    await provider.close!();
  });

  it('rejects a malformed manifest before starting any worker', () => {
    const path = writePack('malformed', (m) => {
      delete m.models.detector.input;
    });
    expect(() => createLocalProvider({ pack: path })).toThrow(/model pack .*malformed\.json/);
  });

  it('names the manifest it looked for when the pack does not exist', () => {
    expect(() => loadPack({ pack: 'no-such-pack' })).toThrow(/no manifest at .*models\/no-such-pack\.json/);
  });
});

describe('alternative pack (YuNet + Silent-Face liveness from the shared models)', () => {
  it('resolves ./ and ../ files relative to the manifest and runs end to end', async () => {
    const pack = loadPack({ pack: 'shared-yunet' });
    expect(pack.files.get('../../shared/models/2.7_80x80_MiniFASNetV2.onnx')).toBe(join(MODELS_DIR, '../../shared/models/2.7_80x80_MiniFASNetV2.onnx'));
    const provider = createLocalProvider({ pack: join(MODELS_DIR, 'shared-yunet.json'), workers: 1 });
    await provider.init!();
    try {
      const c = { signal: new AbortController().signal, requestId: 't' };
      const out = await provider.check({ probe: await face('deepface/img2.jpg'), reference: await face('deepface/img1.jpg'), match: true, liveness: true }, c);
      expect(out.match!.score).toBeGreaterThan(0.5);
      expect(out.liveness!.calibration).toBe('local/shared-minifasnet-v1');
      expect(out.raw.models).toMatchObject({ detector: expect.stringContaining('yunet') });
    } finally {
      await provider.close!();
    }
  });
});
