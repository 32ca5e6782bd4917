/**
 * Worker bootstrap for running from TypeScript sources (jest, which transpiles tests with @swc/jest
 * but cannot hand a .ts file to worker_threads). It compiles each required .ts file with @swc/core,
 * then loads worker.ts. From the compiled build (dist/), pool.ts starts dist/.../worker.js directly.
 */
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const { transformSync } = require('@swc/core');

require.extensions['.ts'] = (module, filename) => {
  const { code } = transformSync(readFileSync(filename, 'utf8'), {
    filename,
    jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  });
  module._compile(code, filename);
};

require(join(__dirname, 'worker.ts'));
