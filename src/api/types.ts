/** GraphQL object types and enums. Field resolvers that need I/O live in resolvers/. */
import 'reflect-metadata';
import { GraphQLJSONObject } from 'graphql-scalars';
import { Field, Float, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { PROVIDER_NAMES, REASON_CODES } from '../../providers/types';
import { CHECK_KINDS, CHECK_STATUSES } from '../verification/types';

const enumOf = <T extends readonly string[]>(values: T) =>
  Object.fromEntries(values.map((v) => [v, v])) as { [K in T[number]]: K };

export const CheckStatusEnum = enumOf(CHECK_STATUSES);
export const CheckKindEnum = enumOf(CHECK_KINDS);
export const ReasonCodeEnum = enumOf(REASON_CODES);
export const ProviderEnum = enumOf(PROVIDER_NAMES);
export const RoleEnum = { tenant: 'tenant', admin: 'admin' } as const;
export const AttemptOutcomeEnum = enumOf(['OK', 'BAD_INPUT', 'UNAUTHORIZED', 'QUOTA_EXCEEDED', 'TRANSIENT', 'UNAVAILABLE', 'TIMEOUT', 'FAILED'] as const);
export const FmrSourceEnum = enumOf(['MEASURED', 'DEFAULT'] as const);
export const CapabilityCheckEnum = enumOf(['match', 'liveness', 'document'] as const);
export const DocumentSourceEnum = enumOf(['MRZ', 'CHIP'] as const);
export const SexEnum = enumOf(['M', 'F', 'X'] as const);
export const LivenessSessionStateEnum = enumOf(['OPEN', 'USED', 'EXPIRED'] as const);

registerEnumType(CheckStatusEnum, { name: 'CheckStatus', description: 'Where a check stands' });
registerEnumType(CheckKindEnum, { name: 'CheckKind' });
registerEnumType(ReasonCodeEnum, { name: 'ReasonCode', description: 'Why a check did not pass, or what a provider noticed' });
registerEnumType(ProviderEnum, { name: 'ProviderName' });
registerEnumType(RoleEnum, { name: 'Role' });
registerEnumType(AttemptOutcomeEnum, { name: 'AttemptOutcome' });
registerEnumType(FmrSourceEnum, {
  name: 'FmrSource',
  description: 'Where an FMR estimate comes from: a table MEASURED on labelled pairs, or DEFAULT operating points (documented, not measured)',
});
registerEnumType(CapabilityCheckEnum, { name: 'CapabilityCheck', description: 'A check a policy routes to providers' });
registerEnumType(LivenessSessionStateEnum, { name: 'LivenessSessionState' });
registerEnumType(DocumentSourceEnum, { name: 'DocumentSource', description: "MRZ: read from the printed page; CHIP: the chip's DG1, passive authentication held" });
registerEnumType(SexEnum, { name: 'DocumentSex', description: 'X: unspecified' });

@ObjectType({ description: "What the document says (its MRZ, or its verified chip's DG1). Personal data: never in webhook payloads." })
export class DocumentData {
  @Field({ description: 'Document code: P (passport), I, ID, AC, …' }) type!: string;
  @Field({ description: 'Issuing state (ICAO code)' }) issuer!: string;
  @Field() number!: string;
  @Field() surname!: string;
  @Field() givenNames!: string;
  @Field() nationality!: string;
  @Field(() => String, { nullable: true, description: 'YYYY-MM-DD; null when the MRZ holds no valid date' }) dateOfBirth!: string | null;
  @Field(() => SexEnum) sex!: string;
  @Field(() => String, { nullable: true, description: 'YYYY-MM-DD' }) expiryDate!: string | null;
  @Field({ description: 'Every check digit of the MRZ held' }) mrzValid!: boolean;
  @Field(() => Boolean, { nullable: true, description: 'Expired on the day of the check (null without an expiry date)' }) expired!: boolean | null;
  @Field(() => DocumentSourceEnum) source!: string;
}

@ObjectType({ description: 'Face match on the unified scale' })
export class FaceMatch {
  @Field(() => ProviderEnum, { description: 'The provider that answered the match (of a consensus, the weakest member)' }) provider!: string;
  @Field({ description: 'FMR at or below the tenant threshold' }) matched!: boolean;
  @Field(() => Float, { description: 'Unified score 0..1 (−log10(FMR)/10)' }) score!: number;
  @Field(() => Float, { description: 'Estimated false-match rate' }) fmr!: number;
  @Field({ description: 'FMR lies beyond what the calibration table measured (extrapolated from its tail)' }) fmrExtrapolated!: boolean;
  @Field(() => FmrSourceEnum, { description: 'Whether the calibration table behind the FMR was measured or is a documented default' }) fmrSource!: string;
  @Field(() => String, { nullable: true, description: 'The calibration table that mapped the score (null for checks decided before tables were recorded)' })
  calibrationTable!: string | null;
  @Field(() => Int, { description: 'FaceTec-style level 0..10 (6 ↔ FMR 1e-5)' }) matchLevel!: number;
  @Field(() => Float, { description: 'The FMR at or below which the policy accepts' }) threshold!: number;
}

@ObjectType({ description: 'Passive liveness. Show end users pass/fail only, never the score.' })
export class Liveness {
  @Field(() => ProviderEnum, { description: 'The provider that judged liveness' }) provider!: string;
  @Field() live!: boolean;
  @Field(() => Float, { description: 'Probability that the capture is a live person' }) score!: number;
  @Field(() => Float, { description: "The policy's livenessMin" }) threshold!: number;
  @Field(() => Float, { nullable: true, description: "Estimated share of attacks that score this high (the provider's measured liveness table); null where the provider has none" })
  apcer!: number | null;
  @Field(() => Float, { nullable: true, description: "The policy's livenessMaxApcer, when it decided instead of livenessMin" }) maxApcer?: number;
}

@ObjectType({ description: 'SHA-256 of each image as received; images themselves are never stored' })
export class ImageDigests {
  @Field({ nullable: true }) selfie?: string;
  @Field({ nullable: true }) document?: string;
  @Field({ nullable: true }) source?: string;
  @Field({ nullable: true }) target?: string;
  @Field({ nullable: true, description: "The chip's files (DG1, DG2, SOD), length-prefixed, as received" }) chip?: string;
}

@ObjectType({ description: 'One provider call made for a check' })
export class Attempt {
  @Field(() => ProviderEnum) provider!: string;
  @Field({ description: 'primary, fallback, consensus, session (a liveness session read) or shadow' }) role!: string;
  @Field(() => [CapabilityCheckEnum], { description: 'What the provider was asked for' }) answers!: string[];
  @Field(() => AttemptOutcomeEnum) outcome!: string;
  @Field(() => Int) latencyMs!: number;
  @Field(() => String, { nullable: true }) errorCode!: string | null;
  @Field(() => GraphQLJSONObject, { nullable: true, description: "The provider's own numbers (admins only; null for tenants)" })
  raw!: Record<string, unknown> | null;
}

@ObjectType()
export class Tenant {
  @Field(() => ID) id!: string;
  @Field() name!: string;
  @Field() createdAt!: Date;
}

@ObjectType({ description: 'The unified result of one check' })
export class VerificationResult {
  @Field(() => ID) id!: string;
  @Field(() => ID) tenantId!: string;
  @Field(() => String, { nullable: true, description: "The caller's own id for the subject" }) referenceId!: string | null;
  @Field(() => CheckKindEnum) kind!: string;
  @Field(() => CheckStatusEnum) status!: string;
  @Field(() => [ReasonCodeEnum]) reasons!: string[];
  @Field(() => FaceMatch, { nullable: true }) faceMatch!: FaceMatch | null;
  @Field(() => Liveness, { nullable: true }) liveness!: Liveness | null;
  @Field(() => DocumentData, { nullable: true, description: "The document's data when its MRZ was read (verifyIdentity with a document check)" }) document?: DocumentData | null;
  @Field(() => ProviderEnum, { nullable: true, description: 'The provider that answered the match (else liveness); each part names its own' }) provider!: string | null;
  @Field(() => ImageDigests) imageDigests!: ImageDigests;
  @Field(() => String, { nullable: true, description: 'The liveness session whose capture stood in for the selfie' }) livenessSessionId!: string | null;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true, description: 'By when the check is decided (its policy deadline)' }) deadlineAt!: Date | null;
  @Field(() => Date, { nullable: true }) completedAt!: Date | null;
}

@ObjectType()
export class PageInfo {
  @Field() hasNextPage!: boolean;
  @Field(() => String, { nullable: true }) endCursor!: string | null;
}

@ObjectType()
export class CheckEdge {
  @Field() cursor!: string;
  @Field(() => VerificationResult) node!: VerificationResult;
}

@ObjectType()
export class CheckConnection {
  @Field(() => [CheckEdge]) edges!: CheckEdge[];
  @Field(() => PageInfo) pageInfo!: PageInfo;
}

@ObjectType()
export class ApiKeyInfo {
  @Field(() => ID) id!: string;
  @Field(() => ID, { nullable: true }) tenantId!: string | null;
  @Field(() => RoleEnum) role!: string;
  @Field({ description: 'First characters of the key, to recognise it' }) prefix!: string;
  @Field(() => String, { nullable: true }) label!: string | null;
  @Field() createdAt!: Date;
  @Field(() => Date, { nullable: true }) revokedAt!: Date | null;
}

@ObjectType()
export class CreatedApiKey {
  @Field(() => ApiKeyInfo) apiKey!: ApiKeyInfo;
  @Field({ description: 'The key itself: shown once, stored only as a hash' }) secret!: string;
}

@ObjectType({ description: "A Face Liveness session for the frontend widget: the tenant's own, single-use (Rekognition: expires 3 minutes after creation)" })
export class LivenessSession {
  @Field() sessionId!: string;
  @Field(() => ProviderEnum) provider!: string;
  @Field() createdAt!: Date;
  @Field() expiresAt!: Date;
  @Field(() => LivenessSessionStateEnum, { description: 'OPEN: not used yet; USED: a check used it (checkId); EXPIRED: unused past expiresAt' }) state!: string;
  @Field(() => ID, { nullable: true, description: 'The check that used it' }) checkId!: string | null;
}
