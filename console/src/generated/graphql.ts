/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
export type AttemptOutcome =
  | 'BAD_INPUT'
  | 'FAILED'
  | 'OK'
  | 'QUOTA_EXCEEDED'
  | 'TIMEOUT'
  | 'TRANSIENT'
  | 'UNAUTHORIZED'
  | 'UNAVAILABLE';

/** A check a policy routes to providers */
export type CapabilityCheck =
  | 'document'
  | 'liveness'
  | 'match';

export type CheckFilterInput = {
  /** Created at or after */
  from?: string | null | undefined;
  provider?: ProviderName | null | undefined;
  referenceId?: string | null | undefined;
  status?: CheckStatus | null | undefined;
  /** Admins only; a tenant key sees its own tenant whatever this says */
  tenantId?: string | number | null | undefined;
  /** Created before */
  to?: string | null | undefined;
};

export type CheckKind =
  | 'FACE_MATCH'
  | 'LIVENESS'
  | 'VERIFY_IDENTITY';

/** Where a check stands */
export type CheckStatus =
  | 'ACCEPTED'
  | 'ERROR'
  | 'INCONCLUSIVE'
  | 'PENDING'
  | 'REJECTED';

/** Where an FMR estimate comes from: a table MEASURED on labelled pairs, or DEFAULT operating points (documented, not measured) */
export type FmrSource =
  | 'DEFAULT'
  | 'MEASURED';

export type ProviderName =
  | 'facia'
  | 'local'
  | 'rekognition';

/** Why a check did not pass, or what a provider noticed */
export type ReasonCode =
  | 'AGE_BELOW_MINIMUM'
  | 'BAD_IMAGE'
  | 'BLURRY'
  | 'CHIP_HASH_MISMATCH'
  | 'CHIP_MRZ_MISMATCH'
  | 'CHIP_SIGNATURE_INVALID'
  | 'CHIP_UNTRUSTED_ISSUER'
  | 'CHIP_VERIFIED'
  | 'DOB_MISMATCH'
  | 'DOCUMENT_EXPIRED'
  | 'EVIDENCE_MISSING'
  | 'EXTREME_POSE'
  | 'FACE_MISMATCH'
  | 'FACE_TOO_SMALL'
  | 'INSUFFICIENT_CONTEXT'
  | 'INTERNAL_ERROR'
  | 'INTERRUPTED'
  | 'LIVENESS_FAILED'
  | 'LIVENESS_SESSION_EXPIRED'
  | 'MATCH_INCONCLUSIVE'
  | 'MRZ_INVALID'
  | 'MRZ_NOT_FOUND'
  | 'MULTIPLE_FACES'
  | 'NAME_MISMATCH'
  | 'NO_FACE'
  | 'PROVIDER_DISAGREEMENT'
  | 'PROVIDER_ERROR'
  | 'PROVIDER_QUOTA_EXCEEDED'
  | 'PROVIDER_UNAUTHORIZED'
  | 'PROVIDER_UNAVAILABLE'
  | 'QUEUE_UNAVAILABLE'
  | 'TIMEOUT';

/** A person's decision on a check */
export type ReviewDecision =
  | 'ACCEPT'
  | 'REJECT';

export type Role =
  | 'admin'
  | 'tenant';

/** Replaces all of a tenant’s overrides: a field left out or null goes back to the server default */
export type TenantLimitsInput = {
  burst?: number | null | undefined;
  checksPerDay?: number | null | undefined;
  keyBurst?: number | null | undefined;
  keyRatePerMinute?: number | null | undefined;
  ratePerMinute?: number | null | undefined;
  retentionDays?: number | null | undefined;
};

/** The span of one row of a usage report (UTC) */
export type UsageBucket =
  | 'DAY'
  | 'HOUR';

export type CheckRowFragment = { id: string, tenantId: string, referenceId: string | null, kind: CheckKind, status: CheckStatus, finalStatus: CheckStatus, reasons: Array<ReasonCode>, provider: ProviderName | null, createdAt: string, completedAt: string | null, faceMatch: { fmr: number, threshold: number, matchLevel: number } | null, liveness: { live: boolean, score: number } | null, review: { decision: ReviewDecision } | null, tenant: { id: string, name: string } | null };

export type ConsoleChecksQueryVariables = Exact<{
  filter?: CheckFilterInput | null | undefined;
  first?: number | null | undefined;
  after?: string | null | undefined;
}>;


export type ConsoleChecksQuery = { checks: { edges: Array<{ cursor: string, node: { id: string, tenantId: string, referenceId: string | null, kind: CheckKind, status: CheckStatus, finalStatus: CheckStatus, reasons: Array<ReasonCode>, provider: ProviderName | null, createdAt: string, completedAt: string | null, faceMatch: { fmr: number, threshold: number, matchLevel: number } | null, liveness: { live: boolean, score: number } | null, review: { decision: ReviewDecision } | null, tenant: { id: string, name: string } | null } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type ConsoleCheckQueryVariables = Exact<{
  id: string | number;
}>;


export type ConsoleCheckQuery = { check: { id: string, tenantId: string, referenceId: string | null, kind: CheckKind, status: CheckStatus, finalStatus: CheckStatus, reasons: Array<ReasonCode>, provider: ProviderName | null, livenessSessionId: string | null, createdAt: string, deadlineAt: string | null, completedAt: string | null, tenant: { id: string, name: string } | null, faceMatch: { provider: ProviderName, matched: boolean, score: number, fmr: number, fmrExtrapolated: boolean, fmrSource: FmrSource, calibrationTable: string | null, matchLevel: number, threshold: number } | null, liveness: { provider: ProviderName, live: boolean, score: number, threshold: number, apcer: number | null, maxApcer: number | null } | null, imageDigests: { selfie: string | null, document: string | null, source: string | null, target: string | null }, attempts: Array<{ provider: ProviderName, role: string, answers: Array<CapabilityCheck>, outcome: AttemptOutcome, latencyMs: number, errorCode: string | null, raw: Record<string, unknown> | null }>, review: { decision: ReviewDecision, note: string, reviewerKeyId: string, at: string } | null } | null };

export type ConsoleReviewQueueQueryVariables = Exact<{
  first?: number | null | undefined;
  after?: string | null | undefined;
  tenantId?: string | number | null | undefined;
}>;


export type ConsoleReviewQueueQuery = { reviewQueue: { edges: Array<{ cursor: string, node: { id: string, referenceId: string | null, kind: CheckKind, status: CheckStatus, reasons: Array<ReasonCode>, createdAt: string, tenant: { id: string, name: string } | null, faceMatch: { provider: ProviderName, fmr: number, threshold: number, fmrSource: FmrSource, matchLevel: number } | null, liveness: { provider: ProviderName, score: number, threshold: number, live: boolean } | null } }>, pageInfo: { hasNextPage: boolean, endCursor: string | null } } };

export type ConsoleReviewCheckMutationVariables = Exact<{
  id: string | number;
  decision: ReviewDecision;
  note: string;
}>;


export type ConsoleReviewCheckMutation = { reviewCheck: { id: string, status: CheckStatus, finalStatus: CheckStatus, review: { decision: ReviewDecision, note: string, reviewerKeyId: string, at: string } | null } };

export type ConsolePolicyQueryVariables = Exact<{
  tenantId: string | number;
}>;


export type ConsolePolicyQuery = { tenantPolicy: { version: number | null, policy: Record<string, unknown>, author: string | null, createdAt: string | null, warnings: Array<string> }, policyHistory: Array<{ version: number | null, policy: Record<string, unknown>, author: string | null, createdAt: string | null }> };

export type ConsoleSetPolicyMutationVariables = Exact<{
  tenantId: string | number;
  policy: Record<string, unknown>;
}>;


export type ConsoleSetPolicyMutation = { setTenantPolicy: { version: number | null, policy: Record<string, unknown>, author: string | null, createdAt: string | null, warnings: Array<string> } };

export type ConsoleRollbackPolicyMutationVariables = Exact<{
  tenantId: string | number;
  version: number;
}>;


export type ConsoleRollbackPolicyMutation = { rollbackTenantPolicy: { version: number | null, policy: Record<string, unknown>, author: string | null, createdAt: string | null, warnings: Array<string> } };

export type ConsoleReplayPolicyQueryVariables = Exact<{
  tenantId: string | number;
  policy: Record<string, unknown>;
  from: string;
  to: string;
}>;


export type ConsoleReplayPolicyQuery = { replayPolicy: { checks: number, replayed: number, withoutEvidence: number, changed: number, transitions: Array<{ from: CheckStatus, to: CheckStatus, count: number }>, changedChecks: Array<{ id: string, createdAt: string, from: CheckStatus, to: CheckStatus, reasons: Array<ReasonCode> }> } };

export type ConsoleProvidersQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleProvidersQuery = { providers: Array<{ name: ProviderName, configured: boolean, capabilities: Array<string>, circuit: string, consecutiveFailures: number, calls: number, errorRate: number, p50Ms: number | null, p95Ms: number | null, matchCalibration: { id: string, origin: string, source: string, impostorPairs: number, whenQualityFindings: string | null } | null }> };

export type ConsoleAgreementQueryVariables = Exact<{
  tenantId: string | number;
  from: string;
  to: string;
}>;


export type ConsoleAgreementQuery = { providerAgreement: Array<{ check: CapabilityCheck, providerA: ProviderName, providerB: ProviderName, checks: number, agreement: number, scoreCorrelation: number | null, scores: Array<{ checkId: string, a: number, b: number, agree: boolean }> }> };

export type ConsoleUsageQueryVariables = Exact<{
  tenantId?: string | number | null | undefined;
  from: string;
  to: string;
  bucket?: UsageBucket | null | undefined;
}>;


export type ConsoleUsageQuery = { usage: { from: string, to: string, bucket: UsageBucket, rows: Array<{ tenantId: string, start: string, checks: number, reviewed: number, p50Ms: number | null, p95Ms: number | null, estimatedCost: number | null, byStatus: Array<{ status: CheckStatus, count: number }>, providers: Array<{ provider: ProviderName, checks: number, calls: number, failedCalls: number, p50Ms: number | null, p95Ms: number | null, estimatedCost: number | null }> }>, totals: Array<{ tenantId: string, checks: number, reviewed: number, p50Ms: number | null, p95Ms: number | null, estimatedCost: number | null, byStatus: Array<{ status: CheckStatus, count: number }>, providers: Array<{ provider: ProviderName, checks: number, calls: number, failedCalls: number, p50Ms: number | null, p95Ms: number | null, estimatedCost: number | null }> }>, prices: Array<{ provider: ProviderName, pricePerCall: number | null }> } };

export type ConsoleTenantsQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleTenantsQuery = { tenants: Array<{ id: string, name: string, provider: ProviderName | null, createdAt: string }> };

export type ConsoleProviderNamesQueryVariables = Exact<{ [key: string]: never; }>;


export type ConsoleProviderNamesQuery = { providers: Array<{ name: ProviderName, configured: boolean }> };

export type ConsoleCreateTenantMutationVariables = Exact<{
  name: string;
  provider?: ProviderName | null | undefined;
}>;


export type ConsoleCreateTenantMutation = { createTenant: { id: string, name: string, provider: ProviderName | null, createdAt: string } };

export type ConsoleTenantQueryVariables = Exact<{
  id: string | number;
}>;


export type ConsoleTenantQuery = { tenant: { id: string, name: string, provider: ProviderName | null, createdAt: string } | null, apiKeys: Array<{ id: string, role: Role, prefix: string, label: string | null, createdAt: string, revokedAt: string | null }>, tenantLimits: { ratePerMinute: number | null, burst: number | null, keyRatePerMinute: number | null, keyBurst: number | null, checksPerDay: number | null, retentionDays: number | null, updatedAt: string | null, effective: { ratePerMinute: number, burst: number, keyRatePerMinute: number, keyBurst: number, checksPerDay: number | null, retentionDays: number | null } } };

export type ConsoleCreateApiKeyMutationVariables = Exact<{
  tenantId: string | number;
  label?: string | null | undefined;
}>;


export type ConsoleCreateApiKeyMutation = { createApiKey: { secret: string, apiKey: { id: string, prefix: string, label: string | null, createdAt: string, revokedAt: string | null } } };

export type ConsoleRevokeApiKeyMutationVariables = Exact<{
  id: string | number;
}>;


export type ConsoleRevokeApiKeyMutation = { revokeApiKey: { id: string, revokedAt: string | null } };

export type ConsoleSetTenantProviderMutationVariables = Exact<{
  tenantId: string | number;
  provider?: ProviderName | null | undefined;
}>;


export type ConsoleSetTenantProviderMutation = { setTenantProvider: { id: string, provider: ProviderName | null } };

export type ConsoleSetTenantLimitsMutationVariables = Exact<{
  tenantId: string | number;
  limits: TenantLimitsInput;
}>;


export type ConsoleSetTenantLimitsMutation = { setTenantLimits: { ratePerMinute: number | null, burst: number | null, keyRatePerMinute: number | null, keyBurst: number | null, checksPerDay: number | null, retentionDays: number | null, updatedAt: string | null, effective: { ratePerMinute: number, burst: number, keyRatePerMinute: number, keyBurst: number, checksPerDay: number | null, retentionDays: number | null } } };

export type ConsoleEraseSubjectMutationVariables = Exact<{
  tenantId: string | number;
  referenceId: string;
}>;


export type ConsoleEraseSubjectMutation = { eraseSubject: { checks: number, attempts: number } };

export class TypedDocumentString<TResult, TVariables>
  extends String
  implements DocumentTypeDecoration<TResult, TVariables>
{
  __apiType?: NonNullable<DocumentTypeDecoration<TResult, TVariables>['__apiType']>;
  private value: string;
  public __meta__?: Record<string, any> | undefined;

  constructor(value: string, __meta__?: Record<string, any> | undefined) {
    super(value);
    this.value = value;
    this.__meta__ = __meta__;
  }

  override toString(): string & DocumentTypeDecoration<TResult, TVariables> {
    return this.value;
  }
}
export const CheckRowFragmentDoc = new TypedDocumentString(`
    fragment CheckRow on VerificationResult {
  id
  tenantId
  referenceId
  kind
  status
  finalStatus
  reasons
  provider
  createdAt
  completedAt
  faceMatch {
    fmr
    threshold
    matchLevel
  }
  liveness {
    live
    score
  }
  review {
    decision
  }
  tenant {
    id
    name
  }
}
    `, {"fragmentName":"CheckRow"}) as unknown as TypedDocumentString<CheckRowFragment, unknown>;
export const ConsoleChecksDocument = new TypedDocumentString(`
    query ConsoleChecks($filter: CheckFilterInput, $first: Int, $after: String) {
  checks(filter: $filter, first: $first, after: $after) {
    edges {
      cursor
      node {
        ...CheckRow
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
    fragment CheckRow on VerificationResult {
  id
  tenantId
  referenceId
  kind
  status
  finalStatus
  reasons
  provider
  createdAt
  completedAt
  faceMatch {
    fmr
    threshold
    matchLevel
  }
  liveness {
    live
    score
  }
  review {
    decision
  }
  tenant {
    id
    name
  }
}`) as unknown as TypedDocumentString<ConsoleChecksQuery, ConsoleChecksQueryVariables>;
export const ConsoleCheckDocument = new TypedDocumentString(`
    query ConsoleCheck($id: ID!) {
  check(id: $id) {
    id
    tenantId
    referenceId
    kind
    status
    finalStatus
    reasons
    provider
    livenessSessionId
    createdAt
    deadlineAt
    completedAt
    tenant {
      id
      name
    }
    faceMatch {
      provider
      matched
      score
      fmr
      fmrExtrapolated
      fmrSource
      calibrationTable
      matchLevel
      threshold
    }
    liveness {
      provider
      live
      score
      threshold
      apcer
      maxApcer
    }
    imageDigests {
      selfie
      document
      source
      target
    }
    attempts {
      provider
      role
      answers
      outcome
      latencyMs
      errorCode
      raw
    }
    review {
      decision
      note
      reviewerKeyId
      at
    }
  }
}
    `) as unknown as TypedDocumentString<ConsoleCheckQuery, ConsoleCheckQueryVariables>;
export const ConsoleReviewQueueDocument = new TypedDocumentString(`
    query ConsoleReviewQueue($first: Int, $after: String, $tenantId: ID) {
  reviewQueue(first: $first, after: $after, tenantId: $tenantId) {
    edges {
      cursor
      node {
        id
        referenceId
        kind
        status
        reasons
        createdAt
        tenant {
          id
          name
        }
        faceMatch {
          provider
          fmr
          threshold
          fmrSource
          matchLevel
        }
        liveness {
          provider
          score
          threshold
          live
        }
      }
    }
    pageInfo {
      hasNextPage
      endCursor
    }
  }
}
    `) as unknown as TypedDocumentString<ConsoleReviewQueueQuery, ConsoleReviewQueueQueryVariables>;
export const ConsoleReviewCheckDocument = new TypedDocumentString(`
    mutation ConsoleReviewCheck($id: ID!, $decision: ReviewDecision!, $note: String!) {
  reviewCheck(id: $id, decision: $decision, note: $note) {
    id
    status
    finalStatus
    review {
      decision
      note
      reviewerKeyId
      at
    }
  }
}
    `) as unknown as TypedDocumentString<ConsoleReviewCheckMutation, ConsoleReviewCheckMutationVariables>;
export const ConsolePolicyDocument = new TypedDocumentString(`
    query ConsolePolicy($tenantId: ID!) {
  tenantPolicy(tenantId: $tenantId) {
    version
    policy
    author
    createdAt
    warnings
  }
  policyHistory(tenantId: $tenantId) {
    version
    policy
    author
    createdAt
  }
}
    `) as unknown as TypedDocumentString<ConsolePolicyQuery, ConsolePolicyQueryVariables>;
export const ConsoleSetPolicyDocument = new TypedDocumentString(`
    mutation ConsoleSetPolicy($tenantId: ID!, $policy: JSONObject!) {
  setTenantPolicy(tenantId: $tenantId, policy: $policy) {
    version
    policy
    author
    createdAt
    warnings
  }
}
    `) as unknown as TypedDocumentString<ConsoleSetPolicyMutation, ConsoleSetPolicyMutationVariables>;
export const ConsoleRollbackPolicyDocument = new TypedDocumentString(`
    mutation ConsoleRollbackPolicy($tenantId: ID!, $version: Int!) {
  rollbackTenantPolicy(tenantId: $tenantId, version: $version) {
    version
    policy
    author
    createdAt
    warnings
  }
}
    `) as unknown as TypedDocumentString<ConsoleRollbackPolicyMutation, ConsoleRollbackPolicyMutationVariables>;
export const ConsoleReplayPolicyDocument = new TypedDocumentString(`
    query ConsoleReplayPolicy($tenantId: ID!, $policy: JSONObject!, $from: DateTimeISO!, $to: DateTimeISO!) {
  replayPolicy(
    tenantId: $tenantId
    policy: $policy
    from: $from
    to: $to
    first: 20
  ) {
    checks
    replayed
    withoutEvidence
    changed
    transitions {
      from
      to
      count
    }
    changedChecks {
      id
      createdAt
      from
      to
      reasons
    }
  }
}
    `) as unknown as TypedDocumentString<ConsoleReplayPolicyQuery, ConsoleReplayPolicyQueryVariables>;
export const ConsoleProvidersDocument = new TypedDocumentString(`
    query ConsoleProviders {
  providers {
    name
    configured
    capabilities
    circuit
    consecutiveFailures
    calls
    errorRate
    p50Ms
    p95Ms
    matchCalibration {
      id
      origin
      source
      impostorPairs
      whenQualityFindings
    }
  }
}
    `) as unknown as TypedDocumentString<ConsoleProvidersQuery, ConsoleProvidersQueryVariables>;
export const ConsoleAgreementDocument = new TypedDocumentString(`
    query ConsoleAgreement($tenantId: ID!, $from: DateTimeISO!, $to: DateTimeISO!) {
  providerAgreement(tenantId: $tenantId, from: $from, to: $to) {
    check
    providerA
    providerB
    checks
    agreement
    scoreCorrelation
    scores {
      checkId
      a
      b
      agree
    }
  }
}
    `) as unknown as TypedDocumentString<ConsoleAgreementQuery, ConsoleAgreementQueryVariables>;
export const ConsoleUsageDocument = new TypedDocumentString(`
    query ConsoleUsage($tenantId: ID, $from: DateTimeISO!, $to: DateTimeISO!, $bucket: UsageBucket) {
  usage(tenantId: $tenantId, from: $from, to: $to, bucket: $bucket) {
    from
    to
    bucket
    rows {
      tenantId
      start
      checks
      reviewed
      p50Ms
      p95Ms
      estimatedCost
      byStatus {
        status
        count
      }
      providers {
        provider
        checks
        calls
        failedCalls
        p50Ms
        p95Ms
        estimatedCost
      }
    }
    totals {
      tenantId
      checks
      reviewed
      p50Ms
      p95Ms
      estimatedCost
      byStatus {
        status
        count
      }
      providers {
        provider
        checks
        calls
        failedCalls
        p50Ms
        p95Ms
        estimatedCost
      }
    }
    prices {
      provider
      pricePerCall
    }
  }
}
    `) as unknown as TypedDocumentString<ConsoleUsageQuery, ConsoleUsageQueryVariables>;
export const ConsoleTenantsDocument = new TypedDocumentString(`
    query ConsoleTenants {
  tenants {
    id
    name
    provider
    createdAt
  }
}
    `) as unknown as TypedDocumentString<ConsoleTenantsQuery, ConsoleTenantsQueryVariables>;
export const ConsoleProviderNamesDocument = new TypedDocumentString(`
    query ConsoleProviderNames {
  providers {
    name
    configured
  }
}
    `) as unknown as TypedDocumentString<ConsoleProviderNamesQuery, ConsoleProviderNamesQueryVariables>;
export const ConsoleCreateTenantDocument = new TypedDocumentString(`
    mutation ConsoleCreateTenant($name: String!, $provider: ProviderName) {
  createTenant(name: $name, provider: $provider) {
    id
    name
    provider
    createdAt
  }
}
    `) as unknown as TypedDocumentString<ConsoleCreateTenantMutation, ConsoleCreateTenantMutationVariables>;
export const ConsoleTenantDocument = new TypedDocumentString(`
    query ConsoleTenant($id: ID!) {
  tenant(id: $id) {
    id
    name
    provider
    createdAt
  }
  apiKeys(tenantId: $id) {
    id
    role
    prefix
    label
    createdAt
    revokedAt
  }
  tenantLimits(tenantId: $id) {
    ratePerMinute
    burst
    keyRatePerMinute
    keyBurst
    checksPerDay
    retentionDays
    updatedAt
    effective {
      ratePerMinute
      burst
      keyRatePerMinute
      keyBurst
      checksPerDay
      retentionDays
    }
  }
}
    `) as unknown as TypedDocumentString<ConsoleTenantQuery, ConsoleTenantQueryVariables>;
export const ConsoleCreateApiKeyDocument = new TypedDocumentString(`
    mutation ConsoleCreateApiKey($tenantId: ID!, $label: String) {
  createApiKey(role: tenant, tenantId: $tenantId, label: $label) {
    secret
    apiKey {
      id
      prefix
      label
      createdAt
      revokedAt
    }
  }
}
    `) as unknown as TypedDocumentString<ConsoleCreateApiKeyMutation, ConsoleCreateApiKeyMutationVariables>;
export const ConsoleRevokeApiKeyDocument = new TypedDocumentString(`
    mutation ConsoleRevokeApiKey($id: ID!) {
  revokeApiKey(id: $id) {
    id
    revokedAt
  }
}
    `) as unknown as TypedDocumentString<ConsoleRevokeApiKeyMutation, ConsoleRevokeApiKeyMutationVariables>;
export const ConsoleSetTenantProviderDocument = new TypedDocumentString(`
    mutation ConsoleSetTenantProvider($tenantId: ID!, $provider: ProviderName) {
  setTenantProvider(tenantId: $tenantId, provider: $provider) {
    id
    provider
  }
}
    `) as unknown as TypedDocumentString<ConsoleSetTenantProviderMutation, ConsoleSetTenantProviderMutationVariables>;
export const ConsoleSetTenantLimitsDocument = new TypedDocumentString(`
    mutation ConsoleSetTenantLimits($tenantId: ID!, $limits: TenantLimitsInput!) {
  setTenantLimits(tenantId: $tenantId, limits: $limits) {
    ratePerMinute
    burst
    keyRatePerMinute
    keyBurst
    checksPerDay
    retentionDays
    updatedAt
    effective {
      ratePerMinute
      burst
      keyRatePerMinute
      keyBurst
      checksPerDay
      retentionDays
    }
  }
}
    `) as unknown as TypedDocumentString<ConsoleSetTenantLimitsMutation, ConsoleSetTenantLimitsMutationVariables>;
export const ConsoleEraseSubjectDocument = new TypedDocumentString(`
    mutation ConsoleEraseSubject($tenantId: ID!, $referenceId: String!) {
  eraseSubject(tenantId: $tenantId, referenceId: $referenceId) {
    checks
    attempts
  }
}
    `) as unknown as TypedDocumentString<ConsoleEraseSubjectMutation, ConsoleEraseSubjectMutationVariables>;