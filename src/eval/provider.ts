/**
 * Scores labelled pairs through a provider's own face match (Facia, Rekognition, …) so that
 * `verigate calibrate --provider NAME` can fit a table on the operator's data: the raw score of
 * every pair, as the provider returns it on its own scale. Pairs the provider refuses (no face,
 * bad image) are counted, not scored.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Provider, ProviderName, ScoreScale } from '../../providers/types';
import { isProviderError } from '../../providers/types';
import { VerigateError } from '../errors';
import { parseImageInput } from '../images';
import { loadConfig } from '../config';
import { PROVIDER_FACTORIES } from '../providers';
import { fitTable } from './calibrate';
import { readPairs, type LabelledPair } from './sets';

export interface ProviderPairScores {
  genuine: number[];
  impostor: number[];
  refused: number;
  scale: ScoreScale | undefined;
  /** the key the provider reports its scores under (RawFaceMatch.calibration): what the fitted table maps */
  calibration: string | undefined;
}

export async function scorePairsWithProvider(provider: Provider, pairs: readonly LabelledPair[], concurrency = 4): Promise<ProviderPairScores> {
  const out: ProviderPairScores = { genuine: [], impostor: [], refused: 0, scale: undefined, calibration: undefined };
  const image = (path: string, field: string) => parseImageInput(readFileSync(path).toString('base64'), field);
  let next = 0;
  const worker = async () => {
    while (next < pairs.length) {
      const pair = pairs[next++];
      try {
        const [reference, probe] = await Promise.all([image(pair.a, 'a'), image(pair.b, 'b')]);
        const result = await provider.check(
          { probe, reference, match: true, liveness: false },
          { signal: AbortSignal.timeout(30_000), requestId: `calibrate-${next}` },
        );
        if (!result.match) throw new Error(`${provider.name} returned no match score`);
        if (out.scale && out.scale !== result.match.scale) throw new Error(`${provider.name} changed score scale mid-run`);
        out.scale = result.match.scale;
        out.calibration = result.match.calibration;
        (pair.same ? out.genuine : out.impostor).push(result.match.score);
      } catch (e) {
        if ((isProviderError(e) && e.kind === 'BadInput') || e instanceof VerigateError) out.refused++;
        else throw e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, pairs.length) }, worker));
  return out;
}

/**
 * `verigate calibrate --provider facia|rekognition --pairs FILE…`: the provider as configured by
 * the environment (FACIA_URL…, REKOGNITION_REGION…) scores every pair; the table is fitted on the
 * impostor scores exactly as for the local engine.
 */
export async function calibrateProvider(
  name: string,
  files: string[],
  id: string | undefined,
  outFile: string | undefined,
  args: string[],
  out: (line: string) => void,
): Promise<number> {
  if (!(name in PROVIDER_FACTORIES)) {
    out(`calibrate: unknown provider '${name}' (known: ${Object.keys(PROVIDER_FACTORIES).join(', ')})`);
    return 2;
  }
  const provider = await PROVIDER_FACTORIES[name as ProviderName](loadConfig());
  if (!provider) {
    out(`calibrate: provider '${name}' is not configured (see README: Providers)`);
    return 2;
  }
  try {
    await provider.init?.();
    const s = await scorePairsWithProvider(provider, files.flatMap((f) => readPairs(f)));
    const table = fitTable(s.impostor, {
      id: id ?? `${name}/measured`,
      scores: s.calibration,
      scale: s.scale,
      description:
        `Measured: verigate calibrate ${args.join(' ')} — sets ${files.map((f) => basename(f)).join(', ')}; ` +
        `${s.impostor.length} impostor and ${s.genuine.length} genuine pairs scored by ${name} (${s.refused} refused). ` +
        'Points: empirical impostor FMR down to 1/N; tail fitted on the top of the impostor scores.',
    });
    const json = `${JSON.stringify(table, null, 2)}\n`;
    if (outFile) writeFileSync(outFile, json);
    else out(json.trimEnd());
    out(`calibrated ${table.id} on ${s.impostor.length} impostor pairs${outFile ? ` → ${outFile}` : ''}`);
    return 0;
  } finally {
    await provider.close?.();
  }
}
