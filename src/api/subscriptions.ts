/**
 * GraphQL over WebSocket (graphql-ws, the `graphql-transport-ws` protocol) on the same port and
 * path as HTTP (`/graphql`), for subscriptions only.
 *
 *   - Authenticated in `connectionParams`: `{ authorization: "Bearer <key>" }` (or `x-api-key`),
 *     looked up like an HTTP request's key; a missing or unknown key closes the socket (4403).
 *   - Limits: VERIGATE_WS_CONNECTIONS_PER_KEY sockets per key (more: closed 4403), and
 *     VERIGATE_WS_SUBSCRIPTIONS_PER_CONNECTION subscriptions per socket (more: an error on it).
 *   - Documents are parsed with the token limit and validated with the HTTP rules (depth, aliases,
 *     root fields); queries and mutations are refused here (they go over HTTP, through the limits).
 */
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { GraphQLError, parse, specifiedRules, validate, type ExecutionArgs, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import type { ServerOptions } from 'graphql-ws';
import { WebSocketServer } from 'ws';
import type { App } from '../app';
import { buildContext, type Context } from './context';
import { queryShapeRule, shapeLimitsFrom } from './hardening';
import { createLoaders } from './loaders';

// the subpath export is typed for the bundler/node16 resolutions only; its shape is graphql-ws's own
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { useServer } = require('graphql-ws/use/ws') as {
  useServer(options: ServerOptions<Record<string, unknown> | undefined, Extra>, ws: WebSocketServer): { dispose(): Promise<void> };
};

interface Extra {
  request: IncomingMessage;
  context?: Context;
  subscriptions?: number;
}

/** Upgrades /graphql WebSocket requests once `getApp()` has an app; anything else is refused. */
export function attachSubscriptions(server: Server, getApp: () => App | undefined): { close(): Promise<void> } {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 256 * 1024 });
  const perKey = new Map<string, number>();
  let graphqlWs: { dispose(): Promise<void> } | undefined;

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const app = getApp();
    if ((req.url ?? '').split('?')[0] !== '/graphql' || !app) {
      socket.end('HTTP/1.1 404 Not Found\r\nconnection: close\r\n\r\n');
      return;
    }
    graphqlWs ??= serve(app, wss, perKey);
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  };
  server.on('upgrade', onUpgrade);
  return {
    async close() {
      server.off('upgrade', onUpgrade);
      for (const client of wss.clients) client.close(1001, 'server stopping');
      await graphqlWs?.dispose();
      await new Promise<void>((r) => wss.close(() => r()));
    },
  };
}

function serve(app: App, wss: WebSocketServer, perKey: Map<string, number>) {
  const { config } = app.services;
  const shape = shapeLimitsFrom(config);
  const schema: GraphQLSchema = app.schema;
  return useServer(
    {
      schema,
      async onConnect(ctx) {
        const params = ctx.connectionParams ?? {};
        const authorization = typeof params.authorization === 'string' ? params.authorization : typeof params.Authorization === 'string' ? params.Authorization : undefined;
        const apiKey = typeof params['x-api-key'] === 'string' ? params['x-api-key'] : undefined;
        let context: Context;
        try {
          context = await buildContext(app.services, { authorization, 'x-api-key': apiKey }, undefined, ctx.extra.request.socket.remoteAddress ?? 'unknown');
        } catch {
          return false;
        }
        const key = context.principal?.keyId;
        if (!key) return false;
        const open = perKey.get(key) ?? 0;
        if (open >= config.VERIGATE_WS_CONNECTIONS_PER_KEY) return false;
        perKey.set(key, open + 1);
        ctx.extra.context = context;
        ctx.extra.subscriptions = 0;
        return true;
      },
      onClose(ctx) {
        const key = ctx.extra.context?.principal?.keyId;
        if (!key) return;
        const left = (perKey.get(key) ?? 1) - 1;
        if (left > 0) perKey.set(key, left);
        else perKey.delete(key);
      },
      onSubscribe(ctx, _id, payload): ExecutionArgs | readonly GraphQLError[] {
        if ((ctx.extra.subscriptions ?? 0) >= config.VERIGATE_WS_SUBSCRIPTIONS_PER_CONNECTION) {
          return [new GraphQLError(`at most ${config.VERIGATE_WS_SUBSCRIPTIONS_PER_CONNECTION} subscriptions per connection`, { extensions: { code: 'RATE_LIMITED', limit: 'subscriptions' } })];
        }
        let document;
        try {
          document = parse(payload.query, { maxTokens: shape.maxTokens });
        } catch (e) {
          return [new GraphQLError((e as Error).message, { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })];
        }
        const errors = validate(schema, document, [...specifiedRules, queryShapeRule(shape)]);
        if (errors.length) return errors;
        const op = document.definitions.find((d): d is OperationDefinitionNode => d.kind === 'OperationDefinition' && (!payload.operationName || d.name?.value === payload.operationName));
        if (op?.operation !== 'subscription') {
          return [new GraphQLError('only subscriptions go over WebSocket; send queries and mutations over HTTP', { extensions: { code: 'BAD_REQUEST' } })];
        }
        ctx.extra.subscriptions = (ctx.extra.subscriptions ?? 0) + 1;
        const base = ctx.extra.context!;
        // fresh loaders per operation, as per HTTP request
        const contextValue: Context = { ...base, loaders: createLoaders(base.services.store, base.scope) };
        return { schema, document, variableValues: payload.variables ?? undefined, operationName: payload.operationName ?? undefined, contextValue };
      },
      onComplete(ctx) {
        ctx.extra.subscriptions = Math.max(0, (ctx.extra.subscriptions ?? 1) - 1);
      },
    },
    wss,
  );
}

