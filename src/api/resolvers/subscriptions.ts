/**
 * Subscriptions (graphql-ws, on /graphql): a check's verdict as it comes, and every check of the
 * key's tenant as it ends (admins: every tenant's, or one's). Fed by the live feed of ended checks
 * (src/queue/check-feed.ts), across replicas through Redis.
 */
import 'reflect-metadata';
import { Arg, Authorized, Field, ID, InputType, Resolver, Root, Subscription, type SubscribeResolverData } from 'type-graphql';
import { notFound } from '../../errors';
import type { CheckRecord, Scope } from '../../verification/types';
import type { Context } from '../context';
import { CheckKindEnum, CheckStatusEnum, VerificationResult } from '../types';

@InputType()
export class CheckEventFilter {
  @Field(() => CheckStatusEnum, { nullable: true }) status?: string;
  @Field(() => CheckKindEnum, { nullable: true }) kind?: string;
  @Field({ nullable: true }) referenceId?: string;
  @Field(() => ID, { nullable: true, description: 'Admins only; a tenant key sees its own tenant whatever this says' }) tenantId?: string;
}

const inScope = (scope: Scope, c: CheckRecord) => scope.role === 'admin' || c.tenantId === scope.tenantId;

/** Events pushed by the feed, pulled by the subscription; the feed listener goes when the client does. */
function stream(ctx: Context, keep: (c: CheckRecord) => boolean, first?: CheckRecord, untilOne = false): AsyncIterable<CheckRecord> {
  return {
    [Symbol.asyncIterator]() {
      const buffered: CheckRecord[] = first ? [first] : [];
      let wake: (() => void) | undefined;
      let done = false;
      const unsubscribe = ctx.services.feed.subscribe((c) => {
        if (!keep(c) || buffered.length > 1000) return; // a client that does not read loses events, not memory
        buffered.push(c);
        wake?.();
      });
      const finish = () => {
        done = true;
        unsubscribe();
        wake?.();
      };
      return {
        async next(): Promise<IteratorResult<CheckRecord>> {
          while (!done && buffered.length === 0) await new Promise<void>((r) => (wake = r));
          if (buffered.length === 0) return { done: true, value: undefined };
          const value = buffered.shift()!;
          if (untilOne) finish();
          return { done: false, value };
        },
        async return(): Promise<IteratorResult<CheckRecord>> {
          finish();
          return { done: true, value: undefined };
        },
      };
    },
  };
}

@Resolver()
export class SubscriptionResolver {
  @Authorized()
  @Subscription(() => VerificationResult, {
    description: "One check's verdict: sent once when it ends (at once if it has), then the subscription completes",
    subscribe: async ({ args, context }: SubscribeResolverData<unknown, { id: string }, Context>) => {
      const check = await context.services.store.checks.get(context.scope, args.id);
      if (!check) throw notFound('check');
      if (check.status !== 'PENDING') return stream(context, () => false, check, true);
      const live = stream(context, (c) => c.id === check.id && inScope(context.scope, c), undefined, true);
      // it may have ended between the read and the subscription: read again
      const now = await context.services.store.checks.get(context.scope, args.id);
      return now && now.status !== 'PENDING' ? stream(context, () => false, now, true) : live;
    },
  })
  checkUpdated(@Arg('id', () => ID) _id: string, @Root() check: CheckRecord): CheckRecord {
    return check;
  }

  @Authorized()
  @Subscription(() => VerificationResult, {
    description: "Every check of the key's tenant as it ends (admins: every tenant's, or one's by filter.tenantId)",
    subscribe: ({ args, context }: SubscribeResolverData<unknown, { filter?: CheckEventFilter }, Context>) => {
      const f = args.filter ?? {};
      const tenant = context.scope.role === 'tenant' ? context.scope.tenantId : f.tenantId;
      return stream(
        context,
        (c) =>
          inScope(context.scope, c) &&
          (!tenant || c.tenantId === tenant) &&
          (!f.status || c.status === f.status) &&
          (!f.kind || c.kind === f.kind) &&
          (!f.referenceId || c.referenceId === f.referenceId),
      );
    },
  })
  checkCompleted(@Arg('filter', () => CheckEventFilter, { nullable: true }) _filter: CheckEventFilter | undefined, @Root() check: CheckRecord): CheckRecord {
    return check;
  }
}
