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
import { SubscriptionResolver } from './resolvers/subscriptions';
import { WebhookResolver } from './resolvers/webhooks';

export const RESOLVERS = [VerificationResolver, AdminResolver, PolicyResolver, TenantResolver, LimitsResolver, PrivacyResolver, ReviewResolver, UsageResolver, WebhookResolver, SubscriptionResolver] as const;

/**
 * The subscriptions subscribe to the live feed themselves (resolvers/subscriptions.ts); type-graphql
 * still asks for a topic-based PubSub, which nothing here uses.
 */
const NO_TOPICS = {
  publish() {
    throw new Error('subscriptions are fed by the live feed of checks, not by topics');
  },
  subscribe(): AsyncIterable<never> {
    throw new Error('subscriptions are fed by the live feed of checks, not by topics');
  },
};

export function buildVerigateSchema(): Promise<GraphQLSchema> {
  return buildSchema({ resolvers: RESOLVERS, authChecker, validate: false, pubSub: NO_TOPICS });
}

/** The SDL committed as schema.graphql (a test fails when they drift). */
export async function printVerigateSchema(): Promise<string> {
  return `${printSchema(await buildVerigateSchema())}\n`;
}
