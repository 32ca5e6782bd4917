import 'reflect-metadata';
import { printSchema, type GraphQLSchema } from 'graphql';
import { buildSchema } from 'type-graphql';
import { authChecker } from './context';
import { AdminResolver } from './resolvers/admin';
import { PolicyResolver, TenantResolver } from './resolvers/policy';
import { LimitsResolver } from '../limits/resolver';
import { PrivacyResolver } from '../privacy/resolver';
import { ReviewResolver } from './resolvers/review';
import { UsageResolver } from './resolvers/usage';
import { VerificationResolver } from './resolvers/verification';

export const RESOLVERS = [VerificationResolver, AdminResolver, PolicyResolver, TenantResolver, LimitsResolver, PrivacyResolver, ReviewResolver, UsageResolver] as const;

export function buildVerigateSchema(): Promise<GraphQLSchema> {
  return buildSchema({ resolvers: RESOLVERS, authChecker, validate: false });
}

/** The SDL committed as schema.graphql (a test fails when they drift). */
export async function printVerigateSchema(): Promise<string> {
  return `${printSchema(await buildVerigateSchema())}\n`;
}
