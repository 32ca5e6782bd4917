/** The local ONNX face engine: provider, engine-on-a-pool for eval/bench, model packs. */
export { createLocalEngine, createLocalProvider, type LocalEngine, type LocalProviderOptions } from './provider';
export { type AnalyseRequest, type FaceReport, cosine, STAGES } from './engine';
export { DEFAULT_PACK, loadPack, type ModelPack, type PackManifest } from './pack';
export { AnalyseFailure } from './pool';
