/** Admin operations for privacy: erase one subject, run the retention purge now. */
import 'reflect-metadata';
import { Arg, Authorized, Ctx, Field, ID, Int, Mutation, ObjectType, Resolver } from 'type-graphql';
import { actorOf, type Context } from '../api/context';
import { badInput, notFound } from '../errors';
import { eraseSubject, purgeExpired } from './index';

const MAX_REFERENCE = 256;

@ObjectType({ description: 'What an erasure or purge deleted' })
export class DeletedChecks {
  @Field(() => Int) checks!: number;
  @Field(() => Int) attempts!: number;
}

@ObjectType()
export class PurgeResult extends DeletedChecks {
  @Field(() => Int, { description: 'Tenants that lost at least one check' }) tenants!: number;
}

@Authorized('admin')
@Resolver()
export class PrivacyResolver {
  @Mutation(() => DeletedChecks, {
    description: "Delete every check and attempt of one subject (the tenant's referenceId); audit-logged with the id's SHA-256",
  })
  async eraseSubject(@Arg('tenantId', () => ID) tenantId: string, @Arg('referenceId') referenceId: string, @Ctx() ctx: Context): Promise<DeletedChecks> {
    if (referenceId.length === 0 || referenceId.length > MAX_REFERENCE || referenceId.includes('\u0000')) {
      throw badInput(`referenceId must be 1..${MAX_REFERENCE} characters, without NUL`, 'referenceId');
    }
    if (!(await ctx.services.store.tenants.get(tenantId))) throw notFound('tenant');
    return eraseSubject(ctx.services.store.db, ctx.services.store.audit, actorOf(ctx), tenantId, referenceId);
  }

  @Mutation(() => PurgeResult, { description: "Run the retention purge now (it also runs every VERIGATE_PURGE_INTERVAL_MS)" })
  purgeExpiredChecks(@Ctx() ctx: Context): Promise<PurgeResult> {
    return purgeExpired(ctx.services.store.db, ctx.services.store.audit, {
      defaultDays: ctx.services.config.VERIGATE_RETENTION_DAYS ?? null,
      actor: actorOf(ctx),
    });
  }
}
