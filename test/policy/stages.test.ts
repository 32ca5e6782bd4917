/**
 * The orchestrator's stages on their own: `plan` (policy → legs per capability) and `call` (the one
 * provider caller: deadline, retries, breaker, metrics). `decide` has its property tests
 * (decide.property.test.ts) and `record` its store tests (test/reliability/check-store.test.ts).
 */
import { ProviderError, type Capability, type ProviderName } from '../../providers/types';
import { createLogger } from '../../src/observability/logger';
import { Metrics } from '../../src/observability/metrics';
import { blame, ProviderCaller } from '../../src/verification/call';
import { HealthBook } from '../../src/verification/health';
import { plan, policyWarnings, type PlanFacts } from '../../src/verification/plan';
import { PolicySchema, policyForProvider } from '../../src/verification/policy';
import { ProviderRegistry } from '../../src/verification/registry';
import { outcome, scriptedProvider } from '../support/scripted-provider';

const CAPS: Record<ProviderName, Capability[]> = {
  local: ['face-match', 'liveness', 'quality', 'document'],
  facia: ['face-match', 'liveness'],
  rekognition: ['face-match', 'liveness-session'],
};
const facts: PlanFacts = { capabilities: (p) => new Set(CAPS[p]), needsDocument: (p) => p === 'facia', random: () => 0.5 };
const single = (provider: ProviderName) => ({ type: 'single', provider: { provider } });
const policy = (p: Record<string, unknown>) => PolicySchema.parse(p);
const verify = { kind: 'VERIFY_IDENTITY', tenantId: 't', hasDocument: true } as const;

describe('stage plan', () => {
  it('asks one provider for both checks when they share a route, and each route apart otherwise', () => {
    const joint = plan(policy({ strategy: single('facia') }), verify, facts);
    expect(joint.legs.map((l) => [l.answers, l.steps.map((s) => s.provider)])).toEqual([[['match', 'liveness'], ['facia']]]);
    const split = plan(policy({ strategy: single('rekognition'), routes: { liveness: { strategy: single('local') } } }), verify, facts);
    expect(split.legs.map((l) => [l.answers, l.steps.map((s) => s.provider)])).toEqual([
      [['match'], ['rekognition']],
      [['liveness'], ['local']],
    ]);
  });

  it('leaves out what cannot run, saying why: no passive liveness, no document, residency', () => {
    const rek = plan(policy({ strategy: single('rekognition') }), verify, facts);
    expect(rek.legs[0].steps).toEqual([]);
    expect(rek.excluded).toEqual([{ provider: 'rekognition', capability: 'liveness', why: 'lacks-capability', shadow: false }]);
    const liveOnly = plan(policy({ strategy: single('facia') }), { ...verify, kind: 'LIVENESS', hasDocument: false }, facts);
    expect(liveOnly.excluded).toEqual([{ provider: 'facia', capability: 'liveness', why: 'needs-document', shadow: false }]);
    const onPrem = plan(policy({ strategy: { type: 'fallback', providers: [{ provider: 'rekognition' }, { provider: 'local' }] }, onPremOnly: true, require: { liveness: false } }), verify, facts);
    expect(onPrem.legs[0].steps.map((s) => s.provider)).toEqual(['local']);
  });

  it('reads liveness from a session first, with a shadow asked only for what it can answer', () => {
    const p = plan(policy({ strategy: single('facia'), shadow: [{ provider: 'rekognition' }] }), { ...verify, session: { provider: 'rekognition' } }, facts);
    expect(p.legs.map((l) => [l.answers, l.fromSession ?? false, l.steps.map((s) => s.provider)])).toEqual([
      [['liveness'], true, ['rekognition']],
      [['match'], false, ['facia']],
    ]);
    const joint = plan(policy({ strategy: single('facia'), shadow: [{ provider: 'rekognition' }] }), verify, facts);
    expect(joint.legs[0].shadows).toEqual([{ step: expect.objectContaining({ provider: 'rekognition' }), answers: ['match'] }]);
  });

  it('routes the document to the local engine: in the local leg when local alone decides (shadows or not), else a leg of its own', () => {
    const legsOf = (p: Record<string, unknown>, document = true) => plan(policy(p), { ...verify, document }, facts).legs.map((l) => [l.answers, l.steps.map((s) => s.provider), l.shadows.map((x) => [x.step.provider, x.answers])]);
    expect(legsOf({ strategy: single('local'), require: { liveness: false } })).toEqual([[['match', 'document'], ['local'], []]]);
    // the shadow is not asked about the document
    expect(legsOf({ strategy: single('local'), shadow: [{ provider: 'facia' }] })).toEqual([[['match', 'liveness', 'document'], ['local'], [['facia', ['match', 'liveness']]]]]);
    expect(legsOf({ strategy: single('facia') })).toEqual([
      [['match', 'liveness'], ['facia'], []],
      [['document'], ['local'], []],
    ]);
    // a document route the policy names is taken as it is: facia cannot read a document, and says so before it is used
    const wrong = policy({ strategy: single('facia'), routes: { document: { strategy: single('facia') } }, document: { require: true } });
    const facia = plan(wrong, { ...verify, document: true }, facts);
    expect(facia.legs.find((l) => l.answers.includes('document'))?.steps).toEqual([]);
    expect(facia.excluded).toContainEqual({ provider: 'facia', capability: 'document', why: 'lacks-capability', shadow: false });
    expect(policyWarnings(wrong, facts).join('\n')).toContain("facia cannot read a document's MRZ: only local can (policy routes.document)");
    // named on the same route as a consensus whose members cannot all read documents: the face
    // checks keep both members, the document its own leg
    const both = { type: 'consensus', providers: [{ provider: 'facia' }, { provider: 'local' }] };
    expect(legsOf({ strategy: both, require: { liveness: false }, routes: { document: { strategy: both } } })).toEqual([
      [['match'], ['facia', 'local'], []],
      [['document'], ['local'], []],
    ]);
    expect(plan(wrong, { ...verify, document: true }, facts).legs.find((l) => l.answers.includes('match'))?.steps.map((st) => st.provider)).toEqual(['facia']);
    // without applicant data or a chip, the document is checked only when the policy requires it
    expect(legsOf({ strategy: single('local') }, false)).toEqual([[['match', 'liveness'], ['local'], []]]);
    expect(legsOf({ strategy: single('local'), document: { require: true } }, false)).toEqual([[['match', 'liveness', 'document'], ['local'], []]]);
  });

  it('keeps a split sticky per referenceId', () => {
    const p = policy({ strategy: { type: 'split', arms: [{ provider: 'local', weight: 1 }, { provider: 'facia', weight: 1 }] } });
    const arms = new Set(Array.from({ length: 5 }, (_, i) => plan(p, { ...verify, referenceId: 'alice' }, { ...facts, random: () => i / 5 }).legs[0].steps[0].provider));
    expect(arms.size).toBe(1);
  });

  it('builds a working policy for each provider, and warns of what a policy can never do', () => {
    expect(policyForProvider('rekognition', facts).routes).toEqual({ liveness: { strategy: { type: 'single', provider: { provider: 'local', retries: 0 } }, shadow: [] } });
    expect(policyForProvider('facia', facts).routes).toEqual({});
    expect(policyWarnings(policyForProvider('rekognition', facts), facts)).toEqual([]);
    const warnings = policyWarnings(policy({ strategy: single('rekognition') }), facts);
    expect(warnings).toEqual(expect.arrayContaining([expect.stringMatching(/^verifyIdentity cannot run: rekognition has no passive liveness/), expect.stringMatching(/^checkLiveness cannot run/)]));
  });
});

describe('stage call', () => {
  const make = (failureThreshold = 2) => {
    const p = scriptedProvider('local');
    const health = new HealthBook({ failureThreshold, cooldownMs: 60_000, window: 50 });
    const metrics = new Metrics();
    const caller = new ProviderCaller(new ProviderRegistry([p]), { log: createLogger('silent'), metrics, health, random: () => 0.5 });
    return { p, health, metrics, caller };
  };
  const req = { match: true, liveness: false } as const;
  const ctx = { requestId: 'r' };

  it('aborts the call at its deadline with a Transient TIMEOUT, whether or not the provider listens', async () => {
    const { p, caller } = make();
    let seen: AbortSignal | undefined;
    p.behave((_, c) => ((seen = c.signal), new Promise(() => undefined)));
    const [r] = await caller.check({ provider: 'local', retries: 0, timeoutMs: 100 }, 'primary', req, Date.now() + 10_000, ctx);
    expect('failure' in r && [r.failure.kind, r.failure.reason, r.record.outcome]).toEqual(['Transient', 'TIMEOUT', 'TIMEOUT']);
    expect(seen?.aborted).toBe(true);
    expect(seen?.reason).toBeInstanceOf(ProviderError);
  });

  it('retries Transient failures only, and never past the check deadline', async () => {
    const { p, caller } = make(10);
    let n = 0;
    p.behave(async () => {
      if (n++ < 2) throw new ProviderError('local', 'Transient', 'PROVIDER_UNAVAILABLE', 'flaky');
      return outcome(0.99, undefined);
    });
    const tries = await caller.check({ provider: 'local', retries: 3 }, 'primary', req, Date.now() + 10_000, ctx);
    expect(tries.map((t) => t.record.outcome)).toEqual(['TRANSIENT', 'TRANSIENT', 'OK']);
    p.behave(async () => {
      throw new ProviderError('local', 'BadInput', 'NO_FACE', 'no face');
    });
    expect((await caller.check({ provider: 'local', retries: 3 }, 'primary', req, Date.now() + 10_000, ctx)).map((t) => t.record.outcome)).toEqual(['BAD_INPUT']);
    p.behave(async () => {
      throw new ProviderError('local', 'Transient', 'PROVIDER_UNAVAILABLE', 'down');
    });
    expect(await caller.check({ provider: 'local', retries: 5 }, 'primary', req, Date.now() + 20, ctx)).toHaveLength(1);
  });

  it('opens the breaker on provider faults and then refuses without calling; classifies a stray throw; meters every call', async () => {
    const { p, caller, metrics } = make();
    p.behave(async () => {
      throw new TypeError('bug in an adapter');
    });
    const [first] = await caller.check({ provider: 'local', retries: 0 }, 'primary', req, Date.now() + 1000, ctx);
    expect('failure' in first && [first.failure.kind, first.failure.reason]).toEqual(['Transient', 'PROVIDER_ERROR']);
    await caller.check({ provider: 'local', retries: 0 }, 'primary', req, Date.now() + 1000, ctx);
    const calls = p.calls.length;
    const [refused] = await caller.check({ provider: 'local', retries: 0 }, 'primary', req, Date.now() + 1000, ctx);
    expect([refused.record.outcome, refused.record.errorCode]).toEqual(['UNAVAILABLE', 'CIRCUIT_OPEN']);
    expect(p.calls.length).toBe(calls);
    expect(await metrics.registry.getSingleMetricAsString('verigate_provider_call_duration_seconds')).toMatch(/verigate_provider_call_duration_seconds_count\{provider="local",outcome="TRANSIENT"\} 2/);
  });

  it('blames the provider only for its own faults: not for queueing, a caller’s too-short deadline, or the tenant’s input', () => {
    const timeout = new ProviderError('local', 'Transient', 'TIMEOUT', 'late');
    expect(blame(timeout, { started: false, timeoutMs: 20_000, usual: 40 })).toBe('neutral'); // waited in the queue
    expect(blame(timeout, { started: true, timeoutMs: 1, usual: null })).toBe('neutral'); // a tenant's timeoutMs: 1
    expect(blame(timeout, { started: true, timeoutMs: 300, usual: 900 })).toBe('neutral'); // shorter than it usually needs
    expect(blame(timeout, { started: true, timeoutMs: 300, usual: 40 })).toBe('failure');
    expect(blame(new ProviderError('facia', 'Transient', 'PROVIDER_UNAVAILABLE', '502'), { started: true, timeoutMs: 1, usual: null })).toBe('failure');
    expect(blame(new ProviderError('facia', 'Transient', 'INTERRUPTED', 'gone'), { started: true, timeoutMs: 5000, usual: null })).toBe('neutral');
    for (const kind of ['BadInput', 'Unauthorized', 'QuotaExceeded'] as const) {
      expect(blame(new ProviderError('facia', kind, 'BAD_IMAGE', 'x'), { started: true, timeoutMs: 5000, usual: null })).toBe('ok');
    }
  });

  it('never opens the breaker on a tenant’s tiny timeouts, however many retries', async () => {
    const { p, caller, health } = make();
    p.behave(() => new Promise((r) => setTimeout(() => r(outcome(0.99, undefined)), 30)));
    await caller.check({ provider: 'local', retries: 0 }, 'primary', req, Date.now() + 10_000, ctx); // the provider's usual latency: 30 ms
    const tries = await caller.check({ provider: 'local', retries: 5, timeoutMs: 1 }, 'primary', req, Date.now() + 10_000, ctx);
    expect(tries.length).toBe(6);
    expect(tries.every((t) => t.record.outcome === 'TIMEOUT')).toBe(true);
    expect((await health.stats('local')).state).toBe('CLOSED');
  });
});
