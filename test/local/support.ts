import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import type { CallContext, ImageInput } from '../../providers/types';
import { sharedFacesDir } from '../../src/eval';
import { parseImageInput } from '../../src/images';

export const FACES = sharedFacesDir();

/** The image as the gateway hands it to a provider: validated and measured (src/images). */
export const image = (bytes: Buffer): Promise<ImageInput> => parseImageInput(bytes.toString('base64'), 'test');

/** Bytes no edge check has seen (the provider's own defences): size unknown, so reported as 0×0. */
export function unchecked(bytes: Buffer): ImageInput {
  return { bytes, format: 'jpeg', width: 0, height: 0, orientation: 1, sha256: createHash('sha256').update(bytes).digest('hex'), decodedBytes: 0 };
}

export const face = (rel: string): Promise<ImageInput> => image(readFileSync(join(FACES, rel)));

export const ctx = (): CallContext => ({ signal: new AbortController().signal, requestId: 'test' });
