/**
 * HTTP: /graphql (Apollo), /healthz, /readyz, /metrics on plain node:http. Request ids, body
 * limit, security headers, slow-client timeouts and graceful drain live here, once.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HeaderMap } from '@apollo/server';
import { isConsolePath, serveConsole } from './admin-console';
import { GraphQLError } from 'graphql';
import { buildContext } from './api/context';
import { parseJsonBody } from './api/json-body';
import { graphqlBodyFromMultipart, isMultipart, type Uploads } from './api/multipart';
import { attachSubscriptions } from './api/subscriptions';
import type { App } from './app';
import type { Config } from './config';
import { VerigateError } from './errors';

const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
  'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
};
const LANDING_PAGE_CSP = "frame-ancestors 'none'";

export interface RunningServer {
  server: Server;
  url: string;
  /** stop accepting, let in-flight requests finish, then close the app */
  close(): Promise<void>;
}

export interface ListeningServer extends RunningServer {
  /** start serving this app (until then /healthz answers 200 and everything else 503) */
  attach(app: App): void;
}

/** Listens at once, before the app exists: a port in use fails in milliseconds, not after the store and models are loaded. */
export async function listen(config: Config, host: string, port: number): Promise<ListeningServer> {
  let app: App | undefined;
  const maxBody = config.VERIGATE_MAX_BODY_BYTES;
  // timeouts are enforced on each connections check: check often enough for the headers timeout
  const connectionsCheckingInterval = Math.min(30_000, Math.max(100, Math.floor(config.VERIGATE_HEADERS_TIMEOUT_MS / 4)));
  const server = createServer({ connectionsCheckingInterval }, (req, res) => {
    const started = performance.now();
    const requestId = validRequestId(req.headers['x-request-id']) ?? randomUUID();
    res.setHeader('x-request-id', requestId);
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    const route = routeOf(req.url ?? '/');
    if (!app) return starting(route, res);
    const a = app;
    handle(a, route, req, res, requestId, maxBody)
      .catch((err) => {
        a.services.log.error({ err, requestId }, 'request failed');
        if (!res.headersSent) sendJson(res, 500, { errors: [{ message: 'Unexpected error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
        else res.destroy();
      })
      .finally(() => {
        const seconds = (performance.now() - started) / 1000;
        a.metrics.httpRequests.observe({ route, status: String(res.statusCode) }, seconds);
        // one line per request: what, not who (no headers, no body)
        a.services.log.debug({ requestId, method: req.method, route, status: res.statusCode, ms: Math.round(seconds * 1000) }, 'request');
      });
  });
  // slow clients: headers must arrive within VERIGATE_HEADERS_TIMEOUT_MS, the whole request within VERIGATE_REQUEST_TIMEOUT_MS
  server.headersTimeout = config.VERIGATE_HEADERS_TIMEOUT_MS;
  server.requestTimeout = Math.max(config.VERIGATE_REQUEST_TIMEOUT_MS, server.headersTimeout);
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address() as AddressInfo;
  const url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
  // subscriptions: graphql-ws on the same port and path (src/api/subscriptions.ts)
  const subscriptions = attachSubscriptions(server, () => app);
  return {
    server,
    url,
    attach(a) {
      app = a;
    },
    async close() {
      await subscriptions.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      });
      await app?.close();
    },
  };
}

export async function startServer(app: App, host: string, port: number): Promise<RunningServer> {
  const running = await listen(app.services.config, host, port);
  running.attach(app);
  return running;
}

/** Before the app is attached (store opening, migrations): alive, not ready. */
function starting(route: Route, res: ServerResponse) {
  if (route === 'healthz') return sendJson(res, 200, { status: 'ok' });
  if (route === 'readyz') return sendJson(res, 503, { status: 'starting' });
  if (route === 'other') return sendJson(res, 404, { error: 'not found' });
  res.setHeader('retry-after', '2');
  return sendError(res, 503, new VerigateError('NOT_READY', 'Verigate is starting: opening the store'));
}

type Route = 'graphql' | 'healthz' | 'readyz' | 'metrics' | 'admin' | 'other';
function routeOf(url: string): Route {
  const path = url.split('?')[0];
  if (path === '/graphql') return 'graphql';
  if (path === '/healthz' || path === '/readyz' || path === '/metrics') return path.slice(1) as Route;
  if (isConsolePath(path)) return 'admin';
  return 'other';
}

async function handle(app: App, route: Route, req: IncomingMessage, res: ServerResponse, requestId: string, maxBody: number) {
  switch (route) {
    case 'healthz':
      return sendJson(res, 200, { status: 'ok' });
    case 'readyz': {
      const r = await app.readiness();
      return sendJson(res, r.httpStatus, r.body);
    }
    case 'metrics':
      res.setHeader('content-type', app.metrics.registry.contentType);
      res.end(await app.metrics.registry.metrics());
      return;
    case 'other':
      return sendJson(res, 404, { error: 'not found' });
    case 'admin':
      return serveConsole(req, res);
    case 'graphql':
      return graphql(app, req, res, requestId, maxBody);
  }
}

async function graphql(app: App, req: IncomingMessage, res: ServerResponse, requestId: string, maxBody: number) {
  if (!app.isReady()) {
    res.setHeader('retry-after', '2');
    return sendError(res, 503, new VerigateError('NOT_READY', 'Verigate is starting: providers are warming up'));
  }
  if (req.method !== 'GET' && req.method !== 'POST') {
    res.setHeader('allow', 'GET, POST');
    return sendError(res, 405, new VerigateError('BAD_REQUEST', 'GraphQL takes GET or POST'));
  }
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > maxBody) return sendError(res, 413, tooLarge(maxBody), true);
  // the API key lookup needs only the headers: it runs while the body uploads (a 600 KB verify
  // body takes milliseconds on loopback), and its answer is read once the body is in
  const pendingContext = settled(buildContext(app.services, req.headers, requestId, req.socket.remoteAddress));
  const raw = await readBody(req, maxBody);
  if (raw === null) return sendError(res, 413, tooLarge(maxBody), true);

  const headers = new HeaderMap();
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
  let body: unknown = undefined;
  let uploads: Uploads | undefined;
  const contentType = headers.get('content-type') ?? '';
  if (req.method === 'POST' && isMultipart(contentType)) {
    try {
      ({ body, uploads } = await graphqlBodyFromMultipart(raw, contentType, app.services.imageLimits.maxBytes));
    } catch (e) {
      if (e instanceof VerigateError) return sendError(res, e.code === 'IMAGE_TOO_LARGE' ? 413 : 400, e);
      throw e;
    }
    headers.set('content-type', 'application/json'); // what Apollo gets is the parsed JSON request
  } else if (req.method === 'POST' && contentType.includes('application/json')) {
    // an empty body is most often a shell that could not build it: a command-line argument holding
    // a photo's base64 passes the system's argument size limit (jq --arg, curl -d "…")
    if (raw.length === 0) return sendError(res, 400, new VerigateError('BAD_REQUEST', EMPTY_BODY));
    try {
      body = parseJsonBody(raw);
    } catch {
      return sendError(res, 400, new VerigateError('BAD_REQUEST', 'Request body is not valid JSON'));
    }
    if (Array.isArray(body)) return sendError(res, 400, new VerigateError('BAD_REQUEST', 'Batched requests are not supported'));
  } else if (req.method === 'POST') {
    body = raw.toString('utf8');
  }

  const built = await pendingContext;
  if (!built.ok) {
    const e = built.error;
    if (e instanceof VerigateError && e.code === 'RATE_LIMITED') {
      res.setHeader('retry-after', String(e.extensions.retryAfterSeconds));
      return sendError(res, 429, e);
    }
    if (e instanceof VerigateError) return sendError(res, e.code === 'UNAUTHENTICATED' ? 401 : 400, e);
    throw e;
  }
  const context = built.value;
  context.uploads = uploads;

  const search = (req.url ?? '').includes('?') ? (req.url ?? '').slice((req.url ?? '').indexOf('?')) : '';
  const response = await app.apollo.executeHTTPGraphQLRequest({
    httpGraphQLRequest: { method: req.method, headers, search, body },
    context: async () => context,
  });
  for (const [k, v] of response.headers) res.setHeader(k, v);
  // Apollo's landing page (development only) brings its own nonce-based policy for its scripts
  // in a <meta> tag; ours, `default-src 'none'`, would be enforced as well and block every one
  // of them. A page keeps only what a <meta> policy cannot say.
  if (response.headers.get('content-type')?.startsWith('text/html')) res.setHeader('content-security-policy', LANDING_PAGE_CSP);
  res.statusCode = response.status ?? 200;
  if (response.body.kind === 'complete') {
    res.end(response.body.string);
  } else {
    for await (const chunk of response.body.asyncIterator) res.write(chunk);
    res.end();
  }
}

/** A promise's outcome as a value: it can wait unobserved without an unhandled rejection. */
function settled<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

const EMPTY_BODY =
  'Request body is empty: POST a JSON GraphQL request ({"query": …, "variables": …}). A shell that puts an image\'s base64 in a command-line argument ' +
  '(jq --arg, curl -d "…") hits the argument size limit for photos over ~96 KB: read it from a file (jq --rawfile, curl -d @file) or send the image as a multipart file part';

const tooLarge = (max: number) => new VerigateError('PAYLOAD_TOO_LARGE', `Request body exceeds ${max} bytes`, { maxBytes: max });

/** Reads the body, or returns null (and stops reading) once it passes `max` bytes. */
function readBody(req: IncomingMessage, max: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        req.removeAllListeners('data');
        req.resume();
        resolve(null);
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function sendError(res: ServerResponse, status: number, e: GraphQLError, closeConnection = false) {
  if (closeConnection) res.setHeader('connection', 'close');
  const { http: _http, ...extensions } = e.extensions; // the status is this answer's, not a field
  sendJson(res, status, { errors: [{ message: e.message, extensions }] });
}

function sendJson(res: ServerResponse, status: number, body: unknown) {
  res.statusCode = status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify(body));
}

function validRequestId(v: string | string[] | undefined): string | undefined {
  const s = Array.isArray(v) ? v[0] : v;
  return s && /^[A-Za-z0-9._-]{1,128}$/.test(s) ? s : undefined;
}
