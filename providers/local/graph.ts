/**
 * Load-time rewrites of ONNX graphs, applied after the sha256 check and before ORT sees the bytes
 * (`prepareModel`: negligible weights flushed, depthwise blocks widened, then PRelus decomposed).
 * Each computes the same function.
 *
 * Negligible weights: values a float32 sum cannot feel. fr_feature holds 8,938 denormals (below
 * 2^-126), and 203,561 of its layer parameters (17%: conv weights and biases, PRelu slopes) are
 * under 2^-24 of their tensor's largest value: channels weight decay left at 1e-30-ish, whose
 * products then run as denormals through the activations. Intel cores take a microcode assist on
 * every such operand unless the thread runs with DAZ/FTZ, and ORT's `set_denormal_as_zero` made no
 * measurable difference here with one intra-op thread. Measured on a 2.3 GHz Xeon, one thread: fr_feature 69 ms as published, 15 ms with the
 * denormals flushed, 4.5 ms with the negligible parameters pruned too (AMD Zen pays little for
 * denormals, so it went unnoticed there). Pruning is at float32's own resolution; other tensors
 * (normalisation statistics, scales, anchors) lose only their denormals, and no tensor's largest
 * value is touched. Outputs on real faces stay equal to 1e-5 relative and the evaluation AUCs do
 * not move (test/local/graph.test.ts, bench/engine.ts).
 *
 * PRelu with a per-channel slope: onnxruntime's CPU kernel for it is a scalar broadcast loop
 * (measured on an AMD EPYC: ~2 ns per element, half of fr_feature's run time), and it makes the
 * NCHWc layout optimiser reorder the tensor out and back around every one. The same function written as
 *     y = s·x + (1 − s)·relu(x)
 * (x > 0: x; x ≤ 0: s·x) uses Relu, Mul and Add, which run vectorised: fr_feature 11.2 → 5.7 ms
 * per face, outputs equal to within float rounding (test/local/graph.test.ts).
 *
 * Depthwise blocks of odd width (the pruned MiniFASNets: 103, 231, 13… channels) are widened with
 * channels that stay zero to whole NCHWc blocks, so onnxruntime's blocked kernels take them
 * (`widenDepthwise`): fr_liveness 5.65 → 4.10 ms, the shared 80×80 MiniFASNets 2.5 → 1.7 ms (AMD
 * EPYC, one thread).
 *
 * The protobuf handling is the minimum that needs: fields are kept as they were read (unknown
 * ones included) and only the graph's node and initializer lists are edited.
 */

// ---- protobuf wire format ----------------------------------------------------------------------

interface Field {
  no: number;
  /** wire type: 0 varint, 1 fixed64, 2 length-delimited, 5 fixed32 */
  wt: number;
  /** varint value (wt 0) */
  v?: bigint;
  /** payload (other wire types) */
  b?: Uint8Array;
}

function readVarint(buf: Uint8Array, pos: number): [bigint, number] {
  let value = 0n;
  for (let shift = 0n; ; shift += 7n) {
    if (pos >= buf.length) throw new Error('truncated protobuf varint');
    const byte = buf[pos++];
    value |= BigInt(byte & 0x7f) << shift;
    if (byte < 0x80) return [value, pos];
  }
}

function decode(buf: Uint8Array): Field[] {
  const fields: Field[] = [];
  let pos = 0;
  while (pos < buf.length) {
    let key: bigint;
    [key, pos] = readVarint(buf, pos);
    const no = Number(key >> 3n);
    const wt = Number(key & 7n);
    if (wt === 0) {
      let v: bigint;
      [v, pos] = readVarint(buf, pos);
      fields.push({ no, wt, v });
      continue;
    }
    let len: number;
    if (wt === 2) {
      let l: bigint;
      [l, pos] = readVarint(buf, pos);
      len = Number(l);
    } else if (wt === 1 || wt === 5) {
      len = wt === 1 ? 8 : 4;
    } else {
      throw new Error(`unsupported protobuf wire type ${wt}`);
    }
    if (pos + len > buf.length) throw new Error('truncated protobuf field');
    fields.push({ no, wt, b: buf.subarray(pos, pos + len) });
    pos += len;
  }
  return fields;
}

function varint(v: bigint | number): Buffer {
  let n = BigInt(v);
  const out: number[] = [];
  do {
    let byte = Number(n & 0x7fn);
    n >>= 7n;
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return Buffer.from(out);
}

function encode(fields: readonly Field[]): Buffer {
  return Buffer.concat(
    fields.map((f) => {
      const key = varint((f.no << 3) | f.wt);
      if (f.wt === 0) return Buffer.concat([key, varint(f.v!)]);
      if (f.wt === 2) return Buffer.concat([key, varint(f.b!.length), f.b!]);
      return Buffer.concat([key, f.b!]);
    }),
  );
}

const bytesField = (no: number, b: Uint8Array): Field => ({ no, wt: 2, b });
const stringField = (no: number, s: string): Field => bytesField(no, Buffer.from(s));
const text = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString() : '');

// ---- ONNX (onnx.proto field numbers) -----------------------------------------------------------

const MODEL_GRAPH = 7;
const GRAPH = { node: 1, initializer: 5, input: 11, output: 12 } as const;
const NODE = { input: 1, output: 2, name: 3, opType: 4, attribute: 5, domain: 7 } as const;
const ATTRIBUTE = { name: 1, i: 3 } as const;
const TENSOR = { dims: 1, dataType: 2, floatData: 4, name: 8, rawData: 9 } as const;
const VALUE_INFO_NAME = 1;
const FLOAT = 1n;

interface Node {
  op: string;
  domain: string;
  inputs: string[];
  outputs: string[];
  /** integer attributes (`group`, …) */
  ints: Map<string, number>;
}

function readNode(b: Uint8Array): Node {
  const f = decode(b);
  const strings = (no: number) => f.filter((x) => x.no === no).map((x) => text(x.b));
  const ints = new Map<string, number>();
  for (const a of f.filter((x) => x.no === NODE.attribute).map((x) => decode(x.b!))) {
    const i = a.find((x) => x.no === ATTRIBUTE.i)?.v;
    if (i !== undefined) ints.set(text(a.find((x) => x.no === ATTRIBUTE.name)?.b), Number(i));
  }
  return { op: strings(NODE.opType)[0] ?? '', domain: strings(NODE.domain)[0] ?? '', inputs: strings(NODE.input), outputs: strings(NODE.output), ints };
}

/** The node's fields with integer attribute `name` set to `value` (every other field as read). */
function withIntAttribute(b: Uint8Array, name: string, value: number): Uint8Array {
  return encode(
    decode(b).map((f) => {
      if (f.no !== NODE.attribute) return f;
      const a = decode(f.b!);
      if (text(a.find((x) => x.no === ATTRIBUTE.name)?.b) !== name) return f;
      return bytesField(NODE.attribute, encode(a.map((x) => (x.no === ATTRIBUTE.i ? { ...x, v: BigInt(value) } : x))));
    }),
  );
}

function writeNode(op: string, inputs: string[], output: string, name: string): Field {
  const f = [...inputs.map((i) => stringField(NODE.input, i)), stringField(NODE.output, output), stringField(NODE.name, name), stringField(NODE.opType, op)];
  return bytesField(GRAPH.node, encode(f));
}

/** A decoded float initializer's data bytes (raw_data, or packed float_data) as a view into the model's buffer, or null for other types. */
function floatData(f: readonly Field[]): Uint8Array | null {
  if (f.find((x) => x.no === TENSOR.dataType)?.v !== FLOAT) return null;
  const raw = f.find((x) => x.no === TENSOR.rawData)?.b ?? f.find((x) => x.no === TENSOR.floatData && x.wt === 2)?.b;
  return raw && raw.length % 4 === 0 ? raw : null;
}

/** A float initializer's name, dims and values, or null for other types. */
function readFloatTensor(b: Uint8Array): { name: string; dims: number[]; values: Float32Array } | null {
  const f = decode(b);
  const raw = floatData(f);
  if (!raw) return null;
  const name = text(f.find((x) => x.no === TENSOR.name)?.b);
  const dims = f.filter((x) => x.no === TENSOR.dims).flatMap((x) => (x.wt === 0 ? [Number(x.v)] : packedVarints(x.b!)));
  return { name, dims, values: new Float32Array(new Uint8Array(raw).buffer) }; // copy: aligned
}

function packedVarints(b: Uint8Array): number[] {
  const out: number[] = [];
  for (let pos = 0; pos < b.length; ) {
    let v: bigint;
    [v, pos] = readVarint(b, pos);
    out.push(Number(v));
  }
  return out;
}

function writeFloatTensor(name: string, dims: number[], values: Float32Array): Field {
  const f: Field[] = [
    ...dims.map((d) => ({ no: TENSOR.dims, wt: 0, v: BigInt(d) })),
    { no: TENSOR.dataType, wt: 0, v: FLOAT },
    stringField(TENSOR.name, name),
    bytesField(TENSOR.rawData, new Uint8Array(values.buffer, values.byteOffset, values.byteLength)),
  ];
  return bytesField(GRAPH.initializer, encode(f));
}

/** Slope of shape [C,1,1] or [1,C,1,1]: one value per channel of an NCHW tensor. */
const perChannel = (dims: number[]) =>
  (dims.length === 3 && dims[1] === 1 && dims[2] === 1) || (dims.length === 4 && dims[0] === 1 && dims[2] === 1 && dims[3] === 1);

/** The model's graph fields (empty without a graph), and the model bytes with them replaced. */
function graphOf(model: Uint8Array): { graph: Field[]; withGraph(fields: readonly Field[]): Uint8Array } {
  const top = decode(model);
  const gi = top.findIndex((f) => f.no === MODEL_GRAPH && f.wt === 2);
  return {
    graph: gi < 0 ? [] : decode(top[gi].b!),
    withGraph: (fields) => encode(top.map((f, i) => (i === gi ? bytesField(MODEL_GRAPH, encode(fields)) : f))),
  };
}

/** What `prepareModel` changed. */
export interface Prepared {
  bytes: Uint8Array;
  /** PRelu nodes replaced */
  prelu: number;
  /** negligible weights set to zero */
  flushed: number;
  /** depthwise blocks widened to whole channel blocks */
  widened: number;
}

/** The model as ORT gets it: negligible weights flushed to zero, depthwise blocks widened, then PRelus decomposed. */
export function prepareModel(model: Uint8Array): Prepared {
  // flushed first: the slopes are still PRelu inputs then, and a flushed slope decomposes exactly;
  // widened before the decomposition, whose pattern it matches on PRelu nodes
  const out = flushNegligibleWeights(model);
  const wide = widenDepthwise(out.bytes);
  const { bytes, prelu } = decomposePRelu(wide.bytes);
  return { bytes, prelu, flushed: out.flushed, widened: wide.widened };
}

const SMALLEST_NORMAL = 2 ** -126;
/** float32's relative resolution */
const NEGLIGIBLE = 2 ** -24;

/** Per op, the inputs that are layer parameters: weights and bias of dot products, PRelu's slope. */
const PARAMETER_INPUTS: Record<string, readonly number[]> = { Conv: [1, 2], ConvTranspose: [1, 2], Gemm: [1, 2], MatMul: [1], PRelu: [1] };

/**
 * Sets to zero every float initializer value that is denormal, and in layer parameters
 * (PARAMETER_INPUTS) every value under NEGLIGIBLE times the largest magnitude in its tensor —
 * magnitude pruning at float32's own resolution. Other tensors (scales, normalisation statistics,
 * anchors, lookup tables) lose only their denormals: a small entry there may matter on its own.
 * The layout does not change, so the values are patched in a copy at the offsets they were read
 * from; a model with nothing to flush comes back as the same bytes.
 */
export function flushNegligibleWeights(model: Uint8Array): { bytes: Uint8Array; flushed: number } {
  const { graph } = graphOf(model);
  const weights = new Set(
    graph
      .filter((f) => f.no === GRAPH.node)
      .map((f) => readNode(f.b!))
      .filter((n) => n.domain === '' || n.domain === 'ai.onnx')
      .flatMap((n) => (PARAMETER_INPUTS[n.op] ?? []).map((i) => n.inputs[i])),
  );
  let copy: DataView | null = null;
  let flushed = 0;
  for (const f of graph) {
    if (f.no !== GRAPH.initializer) continue;
    const tensor = decode(f.b!);
    const data = floatData(tensor);
    if (!data) continue;
    const view = new DataView(data.buffer, data.byteOffset, data.length);
    let largest = 0;
    for (let i = 0; i < data.length; i += 4) largest = Math.max(largest, Math.abs(view.getFloat32(i, true)));
    const isWeight = weights.has(text(tensor.find((x) => x.no === TENSOR.name)?.b));
    const below = isWeight ? Math.max(SMALLEST_NORMAL, largest * NEGLIGIBLE) : SMALLEST_NORMAL;
    for (let i = 0; i < data.length; i += 4) {
      const v = view.getFloat32(i, true);
      if (v === 0 || Math.abs(v) >= below) continue;
      copy ??= new DataView(Uint8Array.from(model).buffer);
      // a signed zero keeps the sign the product would have had
      copy.setFloat32(data.byteOffset - model.byteOffset + i, v < 0 ? -0 : 0, true);
      flushed++;
    }
  }
  return { bytes: copy ? new Uint8Array(copy.buffer) : model, flushed };
}

export interface Rewritten {
  bytes: Uint8Array;
  /** PRelu nodes replaced */
  prelu: number;
}

/**
 * Replaces every default-domain PRelu whose slope is a per-channel float initializer by
 * Relu/Mul/Add. Other PRelus, and models without any, are returned unchanged (same bytes).
 */
export function decomposePRelu(model: Uint8Array): Rewritten {
  const { graph, withGraph } = graphOf(model);
  const slopes = new Map<string, { dims: number[]; values: Float32Array }>();
  for (const f of graph) {
    if (f.no !== GRAPH.initializer) continue;
    const t = readFloatTensor(f.b!);
    if (t && perChannel(t.dims)) slopes.set(t.name, t);
  }

  const out: Field[] = [];
  const added: Field[] = [];
  let count = 0;
  for (const f of graph) {
    const node = f.no === GRAPH.node ? readNode(f.b!) : null;
    const slope = node?.op === 'PRelu' && (node.domain === '' || node.domain === 'ai.onnx') ? slopes.get(node.inputs[1]) : undefined;
    if (!node || !slope) {
      out.push(f);
      continue;
    }
    const [x] = node.inputs;
    const [y] = node.outputs;
    const id = `verigate_prelu_${count++}`;
    const dims = [slope.values.length, 1, 1];
    added.push(writeFloatTensor(`${id}_s`, dims, slope.values), writeFloatTensor(`${id}_1ms`, dims, slope.values.map((s) => 1 - s)));
    out.push(
      writeNode('Relu', [x], `${id}_relu`, `${id}_relu`),
      writeNode('Mul', [`${id}_relu`, `${id}_1ms`], `${id}_pos`, `${id}_mul_pos`),
      writeNode('Mul', [x, `${id}_s`], `${id}_lin`, `${id}_mul_lin`),
      writeNode('Add', [`${id}_pos`, `${id}_lin`], y, `${id}_add`),
    );
  }
  if (count === 0) return { bytes: model, prelu: 0 };

  // drop slope initializers (and their graph-input entries, for IR < 4 models) no node reads any more
  const used = new Set(out.filter((f) => f.no === GRAPH.node).flatMap((f) => readNode(f.b!).inputs));
  const unused = (name: string) => slopes.has(name) && !used.has(name);
  const kept = out.filter((f) => {
    if (f.no === GRAPH.initializer) return !unused(text(decode(f.b!).find((x) => x.no === TENSOR.name)?.b));
    if (f.no === GRAPH.input) return !unused(text(decode(f.b!).find((x) => x.no === VALUE_INFO_NAME)?.b));
    return true;
  });
  return { bytes: withGraph([...kept, ...added]), prelu: count };
}

/**
 * onnxruntime's fast CPU convolutions work on channels in blocks (NCHWc: 8 floats with AVX2, 16
 * with AVX-512). A depthwise convolution whose channel count is not a whole number of blocks runs
 * on the generic kernel instead, and the tensor is reordered out of the blocked layout and back
 * around it. The MiniFASNets are pruned nets with such widths (103, 231, 13, 26, 52, 77, 308):
 * measured on an AMD EPYC (AVX2), one thread, half of fr_liveness's 7.0 ms went to those convs and
 * their reorders.
 */
export const CHANNEL_BLOCK = 16;

/**
 * Widens every MobileNet-style block `1×1 conv → PRelu → depthwise conv → PRelu → 1×1 conv` whose
 * inner width is not a multiple of CHANNEL_BLOCK to the next multiple, with channels that stay
 * exactly zero: zero weights and bias into them, slopes of 0, zero weights out of them. The
 * function is the same; each tensor changed must be read by that block alone. Models without such
 * a block come back as the same bytes.
 */
export function widenDepthwise(model: Uint8Array, block = CHANNEL_BLOCK): { bytes: Uint8Array; widened: number } {
  const { graph, withGraph } = graphOf(model);
  type Tensor = { at: number; name: string; dims: number[]; values: Float32Array };
  /** initializer name → its field; values are read only for the blocks that qualify */
  const initializers = new Map<string, number>();
  const nodes: Array<{ at: number } & Node> = [];
  const readers = new Map<string, number>();
  const read = (name: string) => readers.set(name, (readers.get(name) ?? 0) + 1);
  graph.forEach((f, at) => {
    if (f.no === GRAPH.initializer) {
      initializers.set(text(decode(f.b!).find((x) => x.no === TENSOR.name)?.b), at);
    } else if (f.no === GRAPH.node) {
      const node = readNode(f.b!);
      nodes.push({ at, ...node });
      node.inputs.forEach(read);
    } else if (f.no === GRAPH.input || f.no === GRAPH.output) {
      read(text(decode(f.b!).find((x) => x.no === VALUE_INFO_NAME)?.b)); // a graph input/output: never private
    }
  });
  const byInput = new Map<string, (typeof nodes)[number]>();
  for (const n of nodes) for (const i of n.inputs) byInput.set(i, n);
  /** the one node reading `name`, if it is `op` in the default domain */
  const next = (name: string, op: string) => {
    const n = readers.get(name) === 1 ? byInput.get(name) : undefined;
    return n && n.op === op && (n.domain === '' || n.domain === 'ai.onnx') ? n : undefined;
  };
  /** a float initializer read by one node only */
  const own = (name: string | undefined): Tensor | undefined => {
    const at = name && readers.get(name) === 1 ? initializers.get(name) : undefined;
    const t = at === undefined ? null : readFloatTensor(graph[at].b!);
    return t ? { at: at!, ...t } : undefined;
  };

  const edits = new Map<number, Field>();
  let widened = 0;
  for (const expand of nodes) {
    // the pattern first, from the nodes alone; then the tensors of the blocks that match it
    if (expand.op !== 'Conv' || (expand.ints.get('group') ?? 1) !== 1) continue;
    const act1 = next(expand.outputs[0], 'PRelu');
    const dw = act1 && next(act1.outputs[0], 'Conv');
    const act2 = dw && next(dw.outputs[0], 'PRelu');
    const project = act2 && next(act2.outputs[0], 'Conv');
    if (!act1 || !dw || !act2 || !project || (project.ints.get('group') ?? 1) !== 1) continue;
    const w = own(expand.inputs[1]);
    const c = w?.dims[0] ?? 0;
    if (!w || w.dims.length !== 4 || c % block === 0 || dw.ints.get('group') !== c) continue;
    const dwW = own(dw.inputs[1]);
    const projectW = own(project.inputs[1]);
    const slopes = [own(act1.inputs[1]), own(act2.inputs[1])];
    const biases = [expand.inputs[2], dw.inputs[2]].filter(Boolean).map(own);
    if (!dwW || dwW.dims.length !== 4 || dwW.dims[0] !== c || dwW.dims[1] !== 1) continue;
    if (!projectW || projectW.dims.length !== 4 || projectW.dims[1] !== c) continue;
    if (slopes.some((t) => !t || !perChannel(t.dims) || t.values.length !== c)) continue;
    if (biases.some((t) => !t || t.dims.length !== 1 || t.dims[0] !== c)) continue;

    const wide = Math.ceil(c / block) * block;
    const grown = (t: Tensor, dims: number[], place: (out: Float32Array) => void) => {
      const out = new Float32Array(dims.reduce((a, b) => a * b)); // the new channels: zeros
      place(out);
      edits.set(t.at, writeFloatTensor(t.name, dims, out));
    };
    // the channel axis c → wide, the tensor's values first: weights [C,…] and biases [C] on axis
    // 0, slopes [C,1,1] on 0 and [1,C,1,1] on 1
    for (const t of [w, dwW, ...biases, ...slopes] as Tensor[]) {
      const axis = t.dims.length === 4 && t !== w && t !== dwW ? 1 : 0;
      grown(t, t.dims.map((d, i) => (i === axis ? wide : d)), (out) => out.set(t.values));
    }
    // the projection reads c input channels: each output row gets zeros after its c·k·k weights
    const [cout, , kh, kw] = projectW.dims;
    const k = kh * kw;
    grown(projectW, [cout, wide, kh, kw], (out) => {
      for (let o = 0; o < cout; o++) out.set(projectW.values.subarray(o * c * k, (o + 1) * c * k), o * wide * k);
    });
    edits.set(dw.at, bytesField(GRAPH.node, withIntAttribute(graph[dw.at].b!, 'group', wide)));
    widened++;
  }
  if (widened === 0) return { bytes: model, widened: 0 };
  return { bytes: withGraph(graph.map((f, at) => edits.get(at) ?? f)), widened };
}
