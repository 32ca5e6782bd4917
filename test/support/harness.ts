/**
 * The test kit: a real Verigate server on 127.0.0.1 (port 0) with a given store and providers,
 * and a typed GraphQL client that talks to it over HTTP.
 */
import { print } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import type { Provider } from '../../providers/types';
import { createApp, type App } from '../../src/app';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/observability/logger';
import { startServer, type RunningServer } from '../../src/server';
import type { Db } from '../../src/store/db';
import type { CalibrationRegistry } from '../../src/verification/calibration';
import type { BreakerOptions } from '../../src/verification/health';
import { CreateApiKeyDocument, CreateTenantDocument } from '../generated/graphql';
import { readAnswer } from './http';

export const ADMIN_KEY = 'vg_test_admin_key_0123456789abcdef';

export interface GqlResponse<R> {
  status: number;
  headers: Headers;
  data?: R | null;
  errors?: Array<{ message: string; path?: string[]; extensions?: Record<string, any> }>;
}

export interface Harness {
  url: string;
  app: App;
  server: RunningServer;
  /** run an operation with a key (default: the admin key) */
  gql<R, V>(doc: TypedDocumentNode<R, V>, variables?: V, key?: string | null): Promise<GqlResponse<R>>;
  /** a tenant and a tenant key for it */
  tenant(name: string, provider?: 'local' | 'facia' | 'rekognition'): Promise<{ id: string; key: string }>;
  close(): Promise<void>;
}

export async function startHarness(opts: {
  db: Db;
  providers: Provider[];
  env?: Record<string, string>;
  calibration?: CalibrationRegistry;
  breaker?: Partial<BreakerOptions> & { now?: () => number };
  logDestination?: { write(s: string): void };
}): Promise<Harness> {
  const config = loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: opts.logDestination ? 'info' : 'silent',
    PORT: '0',
    VERIGATE_BOOTSTRAP_ADMIN_KEY: ADMIN_KEY,
    ...opts.env,
  });
  const logger = createLogger(config.LOG_LEVEL, opts.logDestination as never);
  const app = await createApp(config, { db: opts.db, providers: opts.providers, calibration: opts.calibration, breaker: opts.breaker, logger });
  const server = await startServer(app, '127.0.0.1', 0);
  const url = `${server.url}/graphql`;

  async function gql<R, V>(doc: TypedDocumentNode<R, V>, variables?: V, key: string | null = ADMIN_KEY) {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) },
      body: JSON.stringify({ query: print(doc), variables }),
    });
    const body = (await res.json()) as { data?: R; errors?: GqlResponse<R>['errors'] };
    return { status: res.status, headers: res.headers, data: body.data, errors: body.errors };
  }

  return {
    url,
    app,
    server,
    gql,
    async tenant(name, provider) {
      const t = await gql(CreateTenantDocument, { name, provider });
      if (!t.data) throw new Error(`createTenant failed: ${JSON.stringify(t.errors)}`);
      const k = await gql(CreateApiKeyDocument, { role: 'tenant', tenantId: t.data.createTenant.id });
      if (!k.data) throw new Error(`createApiKey failed: ${JSON.stringify(k.errors)}`);
      return { id: t.data.createTenant.id, key: k.data.createApiKey.secret };
    },
    close: () => server.close(),
  };
}

/** POST a raw body (for malformed-request tests). */
export async function postRaw(url: string, body: string, headers: Record<string, string> = {}) {
  return readAnswer(await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body }));
}
