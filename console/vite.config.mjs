// The admin console's build: static files under dist/console, served by the gateway at /admin
// (src/admin-console.ts) under a strict CSP — no inline script or style, nothing from elsewhere.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

export default defineConfig({
  root: here,
  base: '/admin/',
  logLevel: 'warn',
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    // every asset a file of its own: a data: URI would need img-src data: in the CSP
    assetsInlineLimit: 0,
    sourcemap: false,
    reportCompressedSize: false,
  },
});
