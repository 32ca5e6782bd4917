/**
 * GraphQL hardening: what one request may ask for, checked before anything runs.
 *
 * - a validation rule bounds the *shape* of a document: depth, aliases and root fields, counted
 *   with fragments expanded (a node budget stops fragment fan-out before it costs anything);
 * - a plugin bounds its *cost* once variables are known (graphql-query-complexity: every field
 *   costs 1, a paginated field multiplies its selection by `first`).
 *
 * Refusals are `GRAPHQL_VALIDATION_FAILED` (HTTP 400) with `extensions.limit` naming the limit,
 * `max` and `actual`. Token count is bounded by the parser (`parseOptions.maxTokens`, src/app.ts);
 * batching, CSRF, body size and slow clients are handled in src/server.ts.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import {
  getVariableValues,
  GraphQLError,
  Kind,
  type ASTNode,
  type SelectionSetNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';
import { getComplexity, simpleEstimator, type ComplexityEstimator } from 'graphql-query-complexity';
import type { Config } from '../config';
import type { Context } from './context';

export interface ShapeLimits {
  maxDepth: number;
  maxAliases: number;
  maxRootFields: number;
  maxCost: number;
  maxTokens: number;
}

/** Selections visited per operation (fragments expanded) before a document is refused outright. */
export const MAX_NODES = 5_000;

export const shapeLimitsFrom = (config: Config): ShapeLimits => ({
  maxDepth: config.VERIGATE_MAX_QUERY_DEPTH,
  maxAliases: config.VERIGATE_MAX_ALIASES,
  maxRootFields: config.VERIGATE_MAX_ROOT_FIELDS,
  maxCost: config.VERIGATE_MAX_QUERY_COST,
  maxTokens: config.VERIGATE_MAX_QUERY_TOKENS,
});

const refusal = (limit: string, message: string, max: number, actual: number, nodes?: ASTNode) =>
  new GraphQLError(message, {
    nodes,
    extensions: { code: 'GRAPHQL_VALIDATION_FAILED', limit, max, actual, http: { status: 400, headers: new HeaderMap() } },
  });

interface Shape {
  depth: number;
  aliases: number;
  rootFields: number;
  nodes: number;
}

/**
 * Depth, aliases and root fields of one operation, fragments expanded. Introspection fields
 * (`__schema`, `__type`, `__typename`) are not counted: their size is the schema's, and
 * introspection is off in production.
 */
function measure(root: SelectionSetNode, context: ValidationContext): Shape {
  const shape: Shape = { depth: 0, aliases: 0, rootFields: 0, nodes: 0 };
  const active = new Set<string>();
  const walk = (set: SelectionSetNode, depth: number): void => {
    for (const sel of set.selections) {
      if (++shape.nodes > MAX_NODES) return;
      if (sel.kind === Kind.FIELD) {
        if (sel.name.value.startsWith('__')) continue;
        if (sel.alias) shape.aliases++;
        if (depth === 1) shape.rootFields++;
        shape.depth = Math.max(shape.depth, depth);
        if (sel.selectionSet) walk(sel.selectionSet, depth + 1);
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        walk(sel.selectionSet, depth);
      } else {
        const name = sel.name.value;
        const fragment = context.getFragment(name);
        if (!fragment || active.has(name)) continue; // unknown or cyclic: graphql's own rules report it
        active.add(name);
        walk(fragment.selectionSet, depth);
        active.delete(name);
      }
    }
  };
  walk(root, 1);
  return shape;
}

/** The shape rule, for `new ApolloServer({ validationRules })`. */
export function queryShapeRule(limits: ShapeLimits): ValidationRule {
  return (context) => ({
    OperationDefinition(op) {
      const s = measure(op.selectionSet, context);
      if (s.nodes > MAX_NODES) {
        context.reportError(refusal('nodes', `Operation selects more than ${MAX_NODES} fields once fragments are expanded`, MAX_NODES, s.nodes, op));
        return;
      }
      if (s.depth > limits.maxDepth) {
        context.reportError(refusal('depth', `Query depth ${s.depth} exceeds the limit of ${limits.maxDepth}`, limits.maxDepth, s.depth, op));
      }
      if (s.aliases > limits.maxAliases) {
        context.reportError(refusal('aliases', `${s.aliases} aliases exceed the limit of ${limits.maxAliases}`, limits.maxAliases, s.aliases, op));
      }
      if (s.rootFields > limits.maxRootFields) {
        context.reportError(
          refusal('rootFields', `${s.rootFields} root fields exceed the limit of ${limits.maxRootFields}`, limits.maxRootFields, s.rootFields, op),
        );
      }
    },
  });
}

/** A paginated field (one with `first`) costs its selection once per item asked for. */
const paginationEstimator: ComplexityEstimator = ({ args, childComplexity }) => {
  const first = typeof args.first === 'number' && args.first > 0 ? args.first : undefined;
  return first === undefined ? undefined : 1 + childComplexity * first;
};

/** Cost of the operation about to run, with its variables (defaults applied by graphql). */
export function operationCost(
  schema: Parameters<typeof getComplexity>[0]['schema'],
  document: Parameters<typeof getComplexity>[0]['query'],
  variables: Record<string, unknown> | undefined,
  operationName: string | undefined,
): number {
  return getComplexity({
    schema,
    query: document,
    variables,
    operationName,
    maxQueryNodes: MAX_NODES,
    estimators: [paginationEstimator, simpleEstimator({ defaultComplexity: 1 })],
  });
}

/** Refuses an operation whose cost exceeds `maxCost`, before it executes. */
export function costLimitPlugin(limits: ShapeLimits): ApolloServerPlugin<Context> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, request, operationName, operation }) {
          // variables that do not coerce: graphql-query-complexity would throw the coercion error from
          // here, which Apollo answers as a 500; leave it to execution, which answers BAD_USER_INPUT (400)
          // before anything runs
          if (getVariableValues(schema, operation?.variableDefinitions ?? [], request.variables ?? {}).errors?.length) return;
          const cost = operationCost(schema, document, request.variables, operationName ?? undefined);
          if (cost > limits.maxCost) {
            throw refusal('cost', `Query cost ${cost} exceeds the limit of ${limits.maxCost}`, limits.maxCost, cost);
          }
        },
      };
    },
  };
}
