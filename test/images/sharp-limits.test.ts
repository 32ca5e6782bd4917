/**
 * Defence in depth: with our own header readers switched off, sharp's metadata() (limitInputPixels)
 * alone must still refuse bombs before any decode.
 */
jest.mock('../../src/images/headers', () => ({
  ...jest.requireActual('../../src/images/headers'),
  readPngHeader: () => null,
  readJpegHeader: () => null,
}));

import sharp from 'sharp';
import { parseImageInput } from '../../src/images';
import { VerigateError } from '../../src/errors';
import { craftPng, noisyJpeg, oneBitBombPng, patchJpegDimensions } from '../corpus/builders';
import { codeOf } from '../support/http';


afterEach(() => jest.restoreAllMocks());

it.each([
  ['PNG 30000×30000 (dimension limit from metadata)', () => Promise.resolve(craftPng({ width: 30000, height: 30000 }))],
  ['PNG 8000×6000 (pixel limit)', () => Promise.resolve(craftPng({ width: 8000, height: 6000 }))],
  ['1-bit PNG 12000×12000', () => Promise.resolve(oneBitBombPng(12000, 12000))],
  ['JPEG declaring 20000×20000', async () => patchJpegDimensions(await noisyJpeg(32, 32), 20000, 20000)],
  ['JPEG declaring 11000×11000 (sides OK, 121 Mpx)', async () => patchJpegDimensions(await noisyJpeg(32, 32), 11000, 11000)],
])('%s → IMAGE_TOO_LARGE from sharp metadata, never decoded', async (_name, make) => {
  const value = (await make()).toString('base64');
  const decode = jest.spyOn(sharp.prototype as { toBuffer: () => unknown }, 'toBuffer');
  expect(await codeOf(parseImageInput(value, 'selfie'))).toBe('IMAGE_TOO_LARGE');
  expect(decode).not.toHaveBeenCalled();
});

it('valid images still pass with the header readers off', async () => {
  const value = (await noisyJpeg(50, 40)).toString('base64');
  await expect(parseImageInput(value, 'selfie')).resolves.toMatchObject({ format: 'jpeg', width: 50, height: 40 });
});
