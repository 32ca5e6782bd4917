/**
 * Stage `plan`: from a policy and a request to the legs of a check. A leg answers one or more
 * capabilities from one route of the policy (capabilities that share a route share a leg, so a
 * provider answering both is called once). Residency (`onPremOnly`), the server's configuration,
 * the capabilities each provider has and what it needs (Facia needs the document for every call)
 * are applied here, to deciding and shadow providers alike, so nothing later can send an image
 * where the policy forbids it. Circuit state is checked at call time (it changes between calls).
 */
import { createHash } from 'node:crypto';
import type { Capability, ProviderName } from '../../providers/types';
import { CAPABILITY_OF, CLOUD_PROVIDERS, routeOf, stepsOf, type Policy, type Routed, type Step, type Strategy } from './policy';

export interface Leg {
  /** what this leg answers */
  answers: Routed[];
  /** `sequence`: the first provider that answers decides (single, fallback, split); `consensus`: all are asked */
  mode: 'sequence' | 'consensus';
  /** consensus `minScore` mode: every member's unified match score must reach this too */
  minScore?: number;
  steps: Step[];
  /** shadow providers, each asked for the part of the leg it can answer */
  shadows: Array<{ step: Step; answers: Routed[] }>;
  /** liveness read from the request's liveness session (its provider's own capture flow) */
  fromSession?: boolean;
}

export type ExclusionWhy = 'onPremOnly' | 'not-configured' | 'lacks-capability' | 'needs-document';
export interface Exclusion {
  provider: ProviderName;
  capability: Routed;
  why: ExclusionWhy;
  shadow: boolean;
}

export interface Plan {
  /** the checks that must pass for the check to be ACCEPTED */
  required: Routed[];
  /** the leg of a liveness session runs first (its reference image is the match leg's selfie) */
  legs: Leg[];
  /** providers the policy named but the plan left out, and why (kept for the error message) */
  excluded: Exclusion[];
}

export interface PlanRequest {
  kind: 'VERIFY_IDENTITY' | 'LIVENESS' | 'FACE_MATCH';
  tenantId: string;
  referenceId?: string | null;
  /** the document (compareFaces target) is there */
  hasDocument: boolean;
  /** the request's liveness session and the provider that made it */
  session?: { provider: ProviderName };
  /** the request carries applicant data or a chip: its document must be read */
  document?: boolean;
}

export interface PlanFacts {
  capabilities(p: ProviderName): ReadonlySet<Capability> | undefined;
  /** the provider needs the document image for every call (Facia's /process_face takes both) */
  needsDocument(p: ProviderName): boolean;
  random(): number;
}

/**
 * The checks a kind of check is made of; a liveness session always brings its liveness verdict,
 * and applicant data or a chip the document's.
 */
export function requiredChecks(kind: PlanRequest['kind'], policy: Policy, withSession: boolean, withDocumentData = false): Routed[] {
  switch (kind) {
    case 'VERIFY_IDENTITY':
      return [
        ...(['match', 'liveness'] as const).filter((c) => policy.require[c] || (c === 'liveness' && withSession)),
        ...(policy.document.require || withDocumentData ? (['document'] as const) : []),
      ];
    case 'LIVENESS':
      return ['liveness'];
    case 'FACE_MATCH':
      return ['match'];
  }
}

export function plan(policy: Policy, req: PlanRequest, facts: PlanFacts): Plan {
  const required = requiredChecks(req.kind, policy, Boolean(req.session), Boolean(req.document));
  const excluded: Exclusion[] = [];
  const whyNot = (s: Step, c: Routed, shadow: boolean, capability: Capability = CAPABILITY_OF[c]): ExclusionWhy | null => {
    const caps = facts.capabilities(s.provider);
    const why: ExclusionWhy | null =
      policy.onPremOnly && CLOUD_PROVIDERS.has(s.provider)
        ? 'onPremOnly'
        : !caps
          ? 'not-configured'
          : !caps.has(capability)
            ? 'lacks-capability'
            : !req.hasDocument && facts.needsDocument(s.provider)
              ? 'needs-document'
              : null;
    if (why && !excluded.some((e) => e.provider === s.provider && e.capability === c && e.shadow === shadow)) excluded.push({ provider: s.provider, capability: c, why, shadow });
    return why;
  };
  /** deciding steps must answer every check of their leg */
  const usable = (steps: readonly Step[], answers: readonly Routed[], capability?: Capability) =>
    steps.filter((s) => answers.map((c) => whyNot(s, c, false, capability)).every((why) => why === null));
  /** a shadow is asked for what it can answer of its leg */
  const shadowsOf = (steps: readonly Step[], answers: readonly Routed[]) =>
    steps.flatMap((step) => {
      const can = answers.filter((c) => whyNot(step, c, true) === null);
      return can.length ? [{ step, answers: can }] : [];
    });

  const legs: Leg[] = [];
  if (req.session && required.includes('liveness')) {
    const steps = usable([{ provider: req.session.provider, retries: 0 }], ['liveness'], 'liveness-session');
    legs.push({ answers: ['liveness'], mode: 'sequence', steps, shadows: [], fromSession: true });
  }
  // capabilities whose route is the same share a leg
  const open = required.filter((c) => !legs.some((l) => l.answers.includes(c)));
  const groups = new Map<string, { route: ReturnType<typeof routeOf>; answers: Routed[] }>();
  for (const c of open) {
    const route = routeOf(policy, c);
    // the document's default route (local) joins a leg the local engine alone decides, whatever its
    // shadows: one call reads the page's MRZ on the decode its face analysis makes anyway
    const joins = c === 'document' && !policy.routes.document ? [...groups].find(([, g]) => sameStrategy(g.route.strategy, route.strategy))?.[0] : undefined;
    // a named document route shares a leg only when every provider deciding it reads documents:
    // one that cannot would otherwise be dropped from the face checks of that leg too
    const apart = c === 'document' && !joins && !stepsOf(route.strategy).every((st) => facts.capabilities(st.provider)?.has('document'));
    const key = joins ?? (apart ? 'document' : '') + JSON.stringify(route);
    const group = groups.get(key) ?? { route, answers: [] };
    group.answers.push(c);
    groups.set(key, group);
  }
  for (const { route, answers } of groups.values()) {
    const { strategy: s, shadow } = route;
    const steps = usable(stepsOf(s), answers);
    // a document that joined another route's leg is not asked of that route's shadows
    const shadows = shadowsOf(shadow, policy.routes.document ? answers : answers.filter((c) => c !== 'document'));
    if (s.type === 'consensus') {
      legs.push({ answers, mode: 'consensus', steps, shadows, ...(s.mode === 'minScore' ? { minScore: s.minScore } : {}) });
    } else if (s.type === 'split') {
      const arms = steps as Array<Step & { weight: number }>;
      const point = req.referenceId ? stickyPoint(req.tenantId, req.referenceId) : facts.random();
      legs.push({ answers, mode: 'sequence', steps: arms.length ? [pickArm(arms, point)] : [], shadows });
    } else {
      legs.push({ answers, mode: 'sequence', steps, shadows });
    }
  }
  return { required, legs, excluded };
}

/** Why a leg has no provider left, with the fix, in the API's words. */
export function explainExclusions(thePlan: Plan, leg: Leg): string {
  const mine = thePlan.excluded.filter((e) => !e.shadow && leg.answers.includes(e.capability));
  if (mine.length === 0) return `the policy names no provider for ${leg.answers.join(' and ')}`;
  return mine.map(explain).join('; ');
}

export function explain({ provider, capability, why }: Exclusion): string {
  const what = WHAT[capability];
  switch (why) {
    case 'onPremOnly':
      return `${provider} is a cloud provider and the policy is onPremOnly`;
    case 'not-configured':
      return `${provider} is not configured on this server`;
    case 'lacks-capability':
      return capability === 'liveness'
        ? `${provider} has no passive ${what} on a selfie: give liveness its own route (policy routes.liveness, e.g. local; setTenantProvider does this), or pass a livenessSessionId`
        : capability === 'document'
          ? `${provider} cannot read a document's MRZ: only local can (policy routes.document)`
          : `${provider} cannot do a ${what}`;
    case 'needs-document':
      return `${provider} needs the document image for every call, so it cannot judge ${what} on a selfie alone: route liveness to local (policy routes.liveness)`;
  }
}

/** the same deciding providers, tried the same way */
const sameStrategy = (a: Strategy, b: Strategy) => JSON.stringify(a) === JSON.stringify(b);

const WHAT: Record<Routed, string> = { match: 'face match', liveness: 'liveness', document: 'document reading' };

/** A point in [0, 1) fixed by tenant and referenceId: the same person always lands in the same arm. */
export function stickyPoint(tenantId: string, referenceId: string): number {
  const h = createHash('sha256').update(`${tenantId}\u0000${referenceId}`).digest();
  return h.readUInt32BE(0) / 2 ** 32;
}

export function pickArm<T extends { weight: number }>(arms: readonly T[], point: number): T {
  const total = arms.reduce((sum, a) => sum + a.weight, 0);
  let acc = 0;
  for (const arm of arms) {
    acc += arm.weight / total;
    if (point < acc) return arm;
  }
  return arms[arms.length - 1];
}

/**
 * What a policy can never do on this server, for `setTenantPolicy` to say before it is used: each
 * operation whose check no provider can run, and each provider the policy names that is skipped
 * for a check (shadows included), with the reason and the fix.
 */
export function policyWarnings(policy: Policy, facts: Omit<PlanFacts, 'random'>): string[] {
  const ops = [
    { op: 'verifyIdentity', kind: 'VERIFY_IDENTITY', hasDocument: true },
    { op: 'checkLiveness', kind: 'LIVENESS', hasDocument: false },
    { op: 'compareFaces', kind: 'FACE_MATCH', hasDocument: true },
  ] as const;
  const out = new Set<string>();
  for (const { op, kind, hasDocument } of ops) {
    const p = plan(policy, { kind, tenantId: '', hasDocument }, { ...facts, random: () => 0 });
    for (const leg of p.legs) if (leg.steps.length === 0) out.add(`${op} cannot run: ${explainExclusions(p, leg)}`);
    for (const e of p.excluded) {
      const what = e.capability === 'match' ? 'the match' : e.capability === 'document' ? 'the document' : 'liveness';
      out.add(`${e.shadow ? 'shadow ' : ''}${e.provider} is never called for ${what} in ${op}: ${explain(e)}`);
    }
  }
  return [...out];
}
