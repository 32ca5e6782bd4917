import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The package root (where package.json is), whether running from src/ (tests) or dist/src/ (build). */
export const PROJECT_ROOT: string = (() => {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`package.json not found above ${__dirname}`);
    dir = up;
  }
  return dir;
})();

export const MODELS_DIR = join(PROJECT_ROOT, 'models');
export const CALIBRATION_DIR = join(MODELS_DIR, 'calibration');
