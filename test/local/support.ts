import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { CallContext, ImageInput } from '../../providers/types';
import { sharedFacesDir } from '../../src/eval';

export const FACES = sharedFacesDir();

export function image(bytes: Buffer): ImageInput {
  return { bytes, format: 'jpeg', width: 0, height: 0, sha256: createHash('sha256').update(bytes).digest('hex') };
}

export const face = (rel: string): ImageInput => image(readFileSync(join(FACES, rel)));

export const ctx = (): CallContext => ({ signal: new AbortController().signal, requestId: 'test' });
