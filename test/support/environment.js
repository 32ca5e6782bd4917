// Jest gives each test file its own realm, with its own typed-array constructors; onnxruntime-node
// checks `data instanceof Float32Array` against the outer realm's and rejects tensors built in the
// test's. Copy the outer constructors (and Buffer) into the test global so both realms agree.
const { TestEnvironment } = require('jest-environment-node');

const SHARED = [
  'ArrayBuffer', 'SharedArrayBuffer', 'DataView', 'Buffer',
  'Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array',
  'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array',
];

class VerigateEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of SHARED) this.global[name] = globalThis[name];
  }
}

module.exports = VerigateEnvironment;
