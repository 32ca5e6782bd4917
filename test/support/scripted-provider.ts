/**
 * A provider whose behaviour a test scripts, with a recorder of calls (STYLE.md §8). For
 * orchestration tests (timeouts, unclassified failures, call counts); accuracy tests use the real
 * engines and emulators.
 */
import type { CallContext, CheckOutcome, CheckRequest, Provider, ProviderName } from '../../providers/types';
import { CalibrationRegistry, validateTable } from '../../src/verification/calibration';

export interface ScriptedProvider extends Provider {
  calls: CheckRequest[];
  behave(fn: (req: CheckRequest, ctx: CallContext) => Promise<CheckOutcome>): void;
}

/** A match on 'scripted/unit': score 0.99 → FMR 1e-7, 0.5 → 1e-4, 0.1 → 0.1. */
export const SCRIPTED_TABLE = validateTable({
  id: 'scripted/unit',
  scale: 'unit',
  origin: 'default',
  description: 'test table for the scripted provider',
  points: [
    { raw: 0, fmr: 1 },
    { raw: 0.1, fmr: 0.1 },
    { raw: 0.5, fmr: 1e-4 },
    { raw: 0.99, fmr: 1e-7 },
  ],
  impostorPairs: 0,
  tail: { log10FmrPerUnit: 10, minFmr: 1e-12 },
});

export function scriptedCalibration(): CalibrationRegistry {
  const reg = new CalibrationRegistry();
  reg.add(SCRIPTED_TABLE);
  return reg;
}

export const outcome = (match: number | undefined, live: number | undefined, raw: Record<string, unknown> = {}): CheckOutcome => ({
  match: match === undefined ? undefined : { score: match, scale: 'unit', calibration: 'scripted/unit' },
  liveness: live === undefined ? undefined : { score: live, scale: 'unit', calibration: 'scripted/unit' },
  quality: [],
  raw,
});

export function scriptedProvider(name: ProviderName = 'local'): ScriptedProvider {
  let fn = async (req: CheckRequest, _ctx: CallContext): Promise<CheckOutcome> =>
    outcome(req.match ? 0.99 : undefined, req.liveness ? 0.97 : undefined, { scripted: true });
  const p: ScriptedProvider = {
    name,
    capabilities: new Set(['face-match', 'liveness']),
    calls: [],
    behave(next) {
      fn = next;
    },
    async check(req, ctx) {
      p.calls.push(req);
      return fn(req, ctx);
    },
    async health() {
      return { ok: true };
    },
  };
  return p;
}
