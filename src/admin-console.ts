/**
 * The admin console's files (built by `npm install` / `npm run build` into dist/console, see
 * scripts/build-console.mjs) at /admin, on the gateway's own port: GET and HEAD only, a content type
 * per extension, index.html for every path that is not a file (the console's client routes), hashed
 * assets cached for a year, and a CSP that allows scripts, styles and requests from this origin
 * only — no inline script or style, no frames, no forms posted elsewhere. The console talks to
 * /graphql with an admin key in a header (never a cookie).
 */
import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { PROJECT_ROOT } from './paths';

export const CONSOLE_DIR = join(PROJECT_ROOT, 'dist', 'console');
export const CONSOLE_PREFIX = '/admin';

export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
};

export const isConsolePath = (path: string) => path === CONSOLE_PREFIX || path.startsWith(`${CONSOLE_PREFIX}/`);

export async function serveConsole(req: IncomingMessage, res: ServerResponse, dir = CONSOLE_DIR): Promise<void> {
  res.setHeader('content-security-policy', CONSOLE_CSP);
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    return text(res, 405, 'The admin console takes GET');
  }
  let path: string;
  try {
    path = decodeURIComponent((req.url ?? '/').split('?')[0]);
  } catch {
    return text(res, 400, 'Bad path');
  }
  const rel = path.slice(CONSOLE_PREFIX.length).replace(/^\/+/, '');
  const root = resolve(dir);
  const file = resolve(root, rel);
  if (rel.includes('\0') || (file !== root && !file.startsWith(root + sep))) return text(res, 404, 'Not found');

  const found = rel && (await stat(file).catch(() => null))?.isFile();
  if (found) {
    const type = TYPES[extname(file)];
    if (!type) return text(res, 404, 'Not found');
    // asset names carry a hash of their content: they never change
    if (rel.startsWith('assets/')) res.setHeader('cache-control', 'public, max-age=31536000, immutable');
    return send(req, res, 200, type, await readFile(file));
  }
  // a missing asset is missing; any other path is a client route of the console
  if (rel.startsWith('assets/') || extname(rel) !== '') return text(res, 404, 'Not found');
  const index = await readFile(join(root, 'index.html')).catch(() => null);
  if (!index) return text(res, 503, 'The admin console is not built: run `npm run build` (it needs the development dependencies: `npm install`).');
  return send(req, res, 200, TYPES['.html'], index);
}

function send(req: IncomingMessage, res: ServerResponse, status: number, type: string, body: Buffer) {
  res.statusCode = status;
  res.setHeader('content-type', type);
  res.setHeader('content-length', body.length);
  res.end(req.method === 'HEAD' ? undefined : body);
}

const text = (res: ServerResponse, status: number, message: string) => {
  res.statusCode = status;
  res.setHeader('content-type', 'text/plain; charset=utf-8');
  res.end(message);
};
