// Builds the admin console (console/) into dist/console, which the gateway serves at /admin.
// Run by `npm install` (postinstall) and `npm run build` (so `npm start` has it). Vite is a
// development dependency: an install without them (--omit=dev) skips the console, and the
// gateway answers /admin with how to build it.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));

let vite;
try {
  vite = await import(require.resolve('vite'));
} catch {
  console.log('[console] vite is not installed (an install without devDependencies): the admin console is not built');
  process.exit(0);
}
const started = performance.now();
await vite.build({ configFile: join(root, 'console', 'vite.config.mjs') });
if (!existsSync(join(root, 'dist', 'console', 'index.html'))) {
  console.error('[console] build finished without dist/console/index.html');
  process.exit(1);
}
console.log(`[console] built dist/console in ${((performance.now() - started) / 1000).toFixed(1)} s`);
