/** Verify mutations and check queries. Auth is declarative (@Authorized); isolation is the store's. */
import 'reflect-metadata';
import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import type { ImageInput } from '../../../providers/types';
import { badInput } from '../../errors';
import { imageFromBytes, parseImageInput } from '../../images';
import { Admission } from '../../limits/bulkhead';
import { checkDate } from '../input-text';
import { BadCursor, encodeCursor } from '../../store/repositories';
import type { VerificationRequest } from '../../verification/orchestrator';
import type { CheckKind, CheckRecord, LivenessSessionRecord } from '../../verification/types';
import { tenantOf, type Context } from '../context';
import { applicantDigest, applicantOf, chipOf } from '../document-input';
import { imageKey } from '../../queue/image-stash';
import { CheckFilterInput, CheckLivenessInput, CompareFacesInput, VerifyIdentityInput } from '../inputs';
import { Attempt, CheckConnection, LivenessSession, Tenant, VerificationResult } from '../types';

/** Parses an image field under the server's limits (src/images), through the request's admission. */
type ImageParser = (value: string, field: string) => Promise<ImageInput>;

/**
 * A verify mutation with its images admitted through the heavy-image bulkhead (src/limits/bulkhead):
 * a request with a large image holds its tenant's place from that image's decode until its check
 * is answered.
 */
async function admitted<T>(ctx: Context, fn: (image: ImageParser) => Promise<T>): Promise<T> {
  const admission = new Admission(ctx.services.heavyLane, tenantOf(ctx));
  const { imageLimits, config } = ctx.services;
  try {
    return await fn((value, field) => {
      // a multipart file part: its bytes as sent, not a base64 string (api/multipart)
      const upload = ctx.uploads?.get(value);
      return upload
        ? imageFromBytes(upload, field, imageLimits, config.VERIGATE_EDGE_DECODE, admission.admit)
        : parseImageInput(value, field, imageLimits, config.VERIGATE_EDGE_DECODE, admission.admit);
    });
  } finally {
    await admission.release();
  }
}

const MAX_PAGE = 100;
const MAX_TEXT = 256;

@Resolver(() => VerificationResult)
export class VerificationResolver {
  @Authorized('tenant')
  @Mutation(() => VerificationResult, { description: 'Selfie (or a liveness session) + ID document: face match and liveness, decided by the tenant policy' })
  async verifyIdentity(@Arg('input') input: VerifyIdentityInput, @Ctx() ctx: Context): Promise<CheckRecord> {
    // the document's inputs first: a bad one is refused before any image is decoded or anything stored
    const applicant = applicantOf(input.applicant);
    const { chip, chipFace, digest: chipDigest } = await chipOf(input.chip, ctx.services.trust, (bytes, field) => imageFromBytes(bytes, field, ctx.services.imageLimits));
    const documentInput = applicant || chip ? { document: { ...(applicant ? { applicant } : {}), ...(chip ? { chip } : {}), ...(chipFace ? { chipFace } : {}) } } : {};
    return admitted(ctx, async (image) => {
      const [selfie, document] = await Promise.all([selfieOf(image, input), image(input.document, 'document')]);
      return run(ctx, 'VERIFY_IDENTITY', input, { probe: selfie, reference: document, livenessSessionId: input.livenessSessionId, ...documentInput }, {
        selfie: selfie?.sha256,
        document: document.sha256,
        ...(chipDigest ? { chip: chipDigest } : {}),
        ...(applicant ? { applicant: applicantDigest(applicant, imageKey(ctx.services.config.VERIGATE_IMAGE_KEY).key) } : {}),
      });
    });
  }

  @Authorized('tenant')
  @Mutation(() => VerificationResult, { description: 'Liveness of a selfie (passive), or of a completed liveness session' })
  async checkLiveness(@Arg('input') input: CheckLivenessInput, @Ctx() ctx: Context): Promise<CheckRecord> {
    return admitted(ctx, async (image) => {
      const selfie = await selfieOf(image, input);
      return run(ctx, 'LIVENESS', input, { probe: selfie, livenessSessionId: input.livenessSessionId }, { selfie: selfie?.sha256 });
    });
  }

  @Authorized('tenant')
  @Mutation(() => VerificationResult, { description: 'Is the face in source the same person as the largest face in target?' })
  async compareFaces(@Arg('input') input: CompareFacesInput, @Ctx() ctx: Context): Promise<CheckRecord> {
    return admitted(ctx, async (image) => {
      const [source, target] = await Promise.all([image(input.source, 'source'), image(input.target, 'target')]);
      return run(ctx, 'FACE_MATCH', input, { probe: source, reference: target }, { source: source.sha256, target: target.sha256 });
    });
  }

  @Authorized('tenant')
  @Mutation(() => LivenessSession, {
    description: 'Start a liveness session; pass its sessionId to the frontend widget, then to verifyIdentity or checkLiveness as livenessSessionId (once)',
  })
  async createLivenessSession(@Ctx() ctx: Context): Promise<LivenessSession> {
    return sessionView(await ctx.services.orchestrator.createLivenessSession(tenantOf(ctx), ctx.requestId));
  }

  @Authorized()
  @Query(() => LivenessSession, { nullable: true, description: "A liveness session by id: a tenant's own; admins any" })
  async livenessSession(@Arg('id') id: string, @Ctx() ctx: Context): Promise<LivenessSession | null> {
    if (id.length > MAX_TEXT) throw badInput(`id must be at most ${MAX_TEXT} characters`, 'id');
    const s = await ctx.services.store.sessions.get(ctx.scope, id);
    return s && sessionView(s);
  }

  @Authorized()
  @Query(() => VerificationResult, { nullable: true, description: "A check by id: a tenant's own; admins any" })
  check(@Arg('id', () => ID) id: string, @Ctx() ctx: Context): Promise<CheckRecord | null> {
    return ctx.services.store.checks.get(ctx.scope, id);
  }

  @Authorized()
  @Query(() => CheckConnection, { description: 'Checks, newest first (Relay-style connection)' })
  async checks(
    @Ctx() ctx: Context,
    @Arg('filter', () => CheckFilterInput, { nullable: true }) filter?: CheckFilterInput,
    @Arg('first', () => Int, { defaultValue: 20 }) first = 20,
    @Arg('after', () => String, { nullable: true }) after?: string,
  ): Promise<CheckConnection> {
    if (first < 1 || first > MAX_PAGE) throw badInput(`first must be between 1 and ${MAX_PAGE}`, 'first');
    checkDate(filter?.from, 'filter.from');
    checkDate(filter?.to, 'filter.to');
    try {
      const page = await ctx.services.store.checks.list(ctx.scope, filter ?? {}, first, after ?? undefined);
      const edges = page.checks.map((c) => ({ cursor: encodeCursor(c), node: c as unknown as VerificationResult }));
      return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
    } catch (e) {
      if (e instanceof BadCursor) throw badInput('after is not a cursor from this API', 'after');
      throw e;
    }
  }

  @FieldResolver(() => [Attempt], { description: 'Provider calls made for this check; raw numbers for admins only' })
  async attempts(@Root() check: CheckRecord, @Ctx() ctx: Context): Promise<Attempt[]> {
    const rows = await ctx.loaders.attemptsByCheck.load(check.id);
    const admin = ctx.principal?.role === 'admin';
    return rows.map((a) => ({ ...a, raw: admin ? a.raw : null }));
  }

  @FieldResolver(() => Tenant, { nullable: true })
  tenant(@Root() check: CheckRecord, @Ctx() ctx: Context) {
    return ctx.loaders.tenantById.load(check.tenantId);
  }
}

/** The selfie, or a liveness session instead (one of the two). */
async function selfieOf(image: ImageParser, input: { selfie?: string | null; livenessSessionId?: string | null }): Promise<ImageInput | undefined> {
  // an empty selfie is a selfie that is not an image (BAD_IMAGE, as for the document), not a missing one
  const hasSelfie = input.selfie !== undefined && input.selfie !== null;
  if (!hasSelfie && !input.livenessSessionId) throw badInput('selfie is required (or a livenessSessionId)', 'selfie');
  if (hasSelfie && input.livenessSessionId) throw badInput('give either selfie or livenessSessionId, not both', 'livenessSessionId');
  if (input.livenessSessionId !== undefined && input.livenessSessionId !== null && (input.livenessSessionId.length === 0 || input.livenessSessionId.length > MAX_TEXT)) {
    throw badInput(`livenessSessionId must be 1..${MAX_TEXT} characters`, 'livenessSessionId');
  }
  return hasSelfie ? image(input.selfie!, 'selfie') : undefined;
}

const sessionView = (s: LivenessSessionRecord): LivenessSession => ({
  sessionId: s.id,
  provider: s.provider,
  createdAt: s.createdAt,
  expiresAt: s.expiresAt,
  state: s.checkId ? 'USED' : s.expiresAt.getTime() <= Date.now() ? 'EXPIRED' : 'OPEN',
  checkId: s.checkId,
});

async function run(
  ctx: Context,
  kind: CheckKind,
  input: { referenceId?: string; idempotencyKey?: string; async?: boolean },
  images: { probe?: ImageInput; reference?: ImageInput; livenessSessionId?: string | null; document?: VerificationRequest['document'] },
  digests: VerificationRequest['digests'],
): Promise<CheckRecord> {
  for (const field of ['referenceId', 'idempotencyKey'] as const) {
    const v = input[field];
    if (v !== undefined && v !== null && (v.length === 0 || v.length > MAX_TEXT)) {
      throw badInput(`${field} must be 1..${MAX_TEXT} characters`, field);
    }
  }
  // the key was found active, so its tenant exists (keys are deleted with their tenant): no read
  const tenantId = tenantOf(ctx);
  const orchestrator = ctx.services.orchestrator;
  return (input.async ? orchestrator.submit : orchestrator.run).call(orchestrator, {
    kind,
    tenantId,
    checksPerDay: (await ctx.services.tenantLimits.get(tenantId)).checksPerDay,
    requestId: ctx.requestId,
    referenceId: input.referenceId,
    idempotencyKey: input.idempotencyKey,
    ...images,
    livenessSessionId: images.livenessSessionId ?? undefined,
    digests,
  });
}
