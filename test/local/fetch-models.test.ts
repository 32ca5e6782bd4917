import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { DEFAULT_MODEL_CACHE } from '../../providers/local/pack';
import { PROJECT_ROOT } from '../../src/paths';

describe('scripts/fetch-models.mjs (postinstall)', () => {
  it('does nothing when the cache already holds the verified models', () => {
    const out = execFileSync(process.execPath, [join(PROJECT_ROOT, 'scripts/fetch-models.mjs')], {
      env: { ...process.env, VERIGATE_MODEL_CACHE: DEFAULT_MODEL_CACHE },
      encoding: 'utf8',
    });
    expect(out).toMatch(/faceplugin: 4 models already verified in .*; nothing to do/);
  });
});
