/** The server listens while providers warm up: /healthz 200 at once, /readyz and /graphql 503 until they are ready. */
import type { Provider } from '../../providers/types';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/observability/logger';
import { startServer } from '../../src/server';
import { PGLITE } from '../support/stores';
import { scriptedProvider } from '../support/scripted-provider';

it('answers health at once and readiness only after warm-up', async () => {
  let finishWarmUp!: () => void;
  const slow: Provider = { ...scriptedProvider('local'), init: () => new Promise<void>((r) => (finishWarmUp = r)) };
  const db = await PGLITE.open();
  const config = loadConfig({ NODE_ENV: 'test', LOG_LEVEL: 'silent' });
  const app = await createApp(config, { db, providers: [slow], logger: createLogger('silent'), warmUpInBackground: true });
  const server = await startServer(app, '127.0.0.1', 0);
  try {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(503);
    const gql = await fetch(`${server.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' });
    expect(gql.status).toBe(503);
    expect(((await gql.json()) as any).errors[0].extensions.code).toBe('NOT_READY');

    finishWarmUp();
    await app.warmUp;
    await new Promise((r) => setImmediate(r));
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
  } finally {
    await server.close();
    await PGLITE.dispose(db);
  }
});
