/**
 * Errors at the edge (STYLE.md §4): a `VerigateError`, or GraphQL's own parse/validation/coercion
 * errors, reach the client as they are; anything else becomes "Unexpected error" and is logged
 * with the request id (the client gets the same id in the `x-request-id` header).
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { ERROR_CODES } from '../errors';
import type { Context } from './context';
import { scrubInput } from './input-text';

const PASS_THROUGH = new Set<string>([
  ...ERROR_CODES,
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

function isExposed(error: unknown): boolean {
  const e = unwrapResolverError(error);
  if (!(e instanceof GraphQLError)) return false;
  const code = e.extensions?.code;
  if (typeof code === 'string') return PASS_THROUGH.has(code);
  // errors GraphQL itself raises (parse, validation, variable coercion) have no original error
  return e.originalError === undefined;
}

export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  if (isExposed(error)) {
    const { stacktrace: _drop, ...extensions } = (formatted.extensions ?? {}) as Record<string, unknown>;
    // GraphQL's coercion errors quote the value they refused: never send a client's image back
    return { ...formatted, message: scrubInput(formatted.message), extensions };
  }
  return { message: 'Unexpected error', path: formatted.path, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}

export const errorLoggingPlugin: ApolloServerPlugin<Context> = {
  async requestDidStart() {
    return {
      async didEncounterErrors({ contextValue, errors }) {
        for (const err of errors) {
          if (!isExposed(err)) contextValue.log.error({ err: unwrapResolverError(err) }, 'unexpected error');
        }
      },
    };
  },
};
