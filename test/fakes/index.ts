/**
 * The provider test kit (STYLE.md §8): an emulator per provider, a recorder of calls, fault
 * injection, real face images and the scorers behind the emulators' numbers. Orchestration tests
 * start an emulator, point the real adapter at it, and assert on `emulator.recorder`.
 *
 *   const facia = await startFaciaEmulator();                         // facia.url, facia.hashId
 *   const rek = await startRekognitionEmulator();                     // rek.url, rek.region, rek.credentials
 *   facia.inject({ kind: 'status', status: 500 });                    // next call fails
 *   rek.injectError('ThrottlingException', { op: 'CompareFaces' });
 */
export { startFaciaEmulator, type FaciaEmulator, type FaciaEmulatorOptions } from './facia-emulator';
export {
  DEFAULT_CREDENTIALS,
  DEFAULT_FACE,
  oneFaceEverywhere,
  startRekognitionEmulator,
  type EmulatedFace,
  type FaceFinder,
  type RekognitionEmulator,
  type RekognitionEmulatorOptions,
} from './rekognition-emulator';
export { CallRecorder, type RecordedCall } from './recorder';
export { type Fault } from './faults';
export { FACES, FACES_DIR, imageFromBytes, loadFace } from './images';
export { closeLocalScorer, cosineToUnit, defaultScorer, defaultScorerName, fallbackScorer, type FaceScores, type Scorer } from './scorer';
