/**
 * The only module that touches onnxruntime-node (STYLE.md §7): open a session from verified model
 * bytes, run it on one float tensor, read named float outputs. Everything else sees Float32Arrays.
 */
import * as ort from 'onnxruntime-node';

export interface SessionOptions {
  /** intra-op threads per session; 1 = no spinning thread pool (one worker per core does the scaling) */
  threads: number;
}

export interface Model {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(input: string, data: Float32Array, dims: readonly number[]): Promise<Record<string, Float32Array>>;
}

export async function openModel(bytes: Uint8Array, label: string, opts: SessionOptions): Promise<Model> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(bytes, {
      executionProviders: ['cpu'],
      graphOptimizationLevel: 'all',
      intraOpNumThreads: opts.threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      extra: { session: { intra_op: { allow_spinning: '0' } } },
    });
  } catch (e) {
    throw new Error(`cannot open ONNX model ${label}: ${(e as Error).message}`, { cause: e });
  }
  return {
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    async run(input, data, dims) {
      const out = await session.run({ [input]: new ort.Tensor('float32', data, dims) });
      const result: Record<string, Float32Array> = {};
      for (const [name, tensor] of Object.entries(out)) result[name] = tensor.data as Float32Array;
      return result;
    },
  };
}

/** Throws unless the model has the input and outputs the manifest names (catches a wrong pack early). */
export function expectNames(model: Model, label: string, input: string, outputs: readonly string[]): void {
  const missing = [input].filter((n) => !model.inputNames.includes(n));
  const missingOut = outputs.filter((n) => !model.outputNames.includes(n));
  if (missing.length || missingOut.length) {
    throw new Error(
      `model ${label}: manifest names input ${input} / outputs ${outputs.join(', ')}, ` +
        `but the model has input ${model.inputNames.join(', ')} / outputs ${model.outputNames.join(', ')}`,
    );
  }
}
