/** Manual review of checks (admin) and the review queue. */
import 'reflect-metadata';
import { Arg, Authorized, Ctx, Field, FieldResolver, ID, Int, Mutation, ObjectType, Query, Resolver, Root, registerEnumType } from 'type-graphql';
import { badInput, notFound, VerigateError } from '../../errors';
import { BadCursor, encodeCursor } from '../../store/repositories';
import { ReviewRefused, ReviewRepo } from '../../store/review';
import { finalStatusOf, REVIEW_DECISIONS, type CheckRecord, type CheckReview as Review, type ReviewDecision } from '../../verification/types';
import { actorOf, type Context } from '../context';
import { CheckConnection, CheckStatusEnum, VerificationResult } from '../types';

export const ReviewDecisionEnum = Object.fromEntries(REVIEW_DECISIONS.map((d) => [d, d])) as { [K in ReviewDecision]: K };
registerEnumType(ReviewDecisionEnum, { name: 'ReviewDecision', description: "A person's decision on a check" });

@ObjectType({ description: "A person's decision on a check; the check's own status stays the automated one" })
export class CheckReview {
  @Field(() => ReviewDecisionEnum) decision!: ReviewDecision;
  @Field({ description: 'Why: what the reviewer saw' }) note!: string;
  @Field(() => ID, { description: 'The API key that reviewed it' }) reviewerKeyId!: string;
  @Field() at!: Date;
}

const MAX_PAGE = 100;
const MAX_NOTE = 2000;

@Resolver(() => VerificationResult)
export class ReviewResolver {
  @Authorized('admin')
  @Mutation(() => VerificationResult, {
    description:
      "Decide a check by hand: it keeps its automated status and gains `review` and `finalStatus`. INCONCLUSIVE checks only, unless the tenant's policy sets review.anyStatus; once per check (a second review is a CONFLICT)",
  })
  async reviewCheck(
    @Arg('id', () => ID) id: string,
    @Arg('decision', () => ReviewDecisionEnum) decision: ReviewDecision,
    @Arg('note') note: string,
    @Ctx() ctx: Context,
  ): Promise<CheckRecord> {
    const trimmed = note.trim();
    if (trimmed.length === 0 || trimmed.length > MAX_NOTE) throw badInput(`note must be 1..${MAX_NOTE} characters`, 'note');
    try {
      const reviewed = await new ReviewRepo(ctx.services.store.db).review(
        ctx.scope,
        id,
        { decision, note: trimmed, reviewerKeyId: ctx.principal!.keyId, actor: actorOf(ctx) },
        ctx.services.onCheckReviewed,
      );
      if (!reviewed) throw notFound('check');
      return reviewed;
    } catch (e) {
      if (e instanceof ReviewRefused) throw new VerigateError('CONFLICT', e.message, { reason: e.why, status: e.status });
      throw e;
    }
  }

  @Authorized('admin')
  @Query(() => CheckConnection, { description: 'INCONCLUSIVE checks no one has reviewed yet, oldest first' })
  async reviewQueue(
    @Ctx() ctx: Context,
    @Arg('first', () => Int, { defaultValue: 20 }) first = 20,
    @Arg('after', () => String, { nullable: true }) after?: string,
    @Arg('tenantId', () => ID, { nullable: true }) tenantId?: string,
  ): Promise<CheckConnection> {
    if (first < 1 || first > MAX_PAGE) throw badInput(`first must be between 1 and ${MAX_PAGE}`, 'first');
    try {
      const page = await new ReviewRepo(ctx.services.store.db).queue(ctx.scope, first, after ?? undefined, tenantId ?? undefined);
      const edges = page.checks.map((c) => ({ cursor: encodeCursor(c), node: c as unknown as VerificationResult }));
      return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
    } catch (e) {
      if (e instanceof BadCursor) throw badInput('after is not a cursor from this API', 'after');
      throw e;
    }
  }

  @FieldResolver(() => CheckReview, { nullable: true, description: "A person's decision on the check (reviewCheck); null: not reviewed" })
  review(@Root() check: CheckRecord): Review | null {
    return check.review ?? null;
  }

  @FieldResolver(() => CheckStatusEnum, { description: "The review's decision when the check was reviewed, else its status" })
  finalStatus(@Root() check: CheckRecord): string {
    return finalStatusOf(check);
  }
}
