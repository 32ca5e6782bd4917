import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auc, eer, fitTable, runEval, tarAtFmr } from '../../src/eval';
import { fmrOf } from '../../src/verification/calibration';
import { FACES } from './support';

describe('eval metrics', () => {
  it('computes AUC, EER and TAR at FMR on a known example', () => {
    const s = { genuine: [0.9, 0.8, 0.3], impostor: [0.1, 0.2, 0.4, 0.35] };
    expect(auc(s)).toBeCloseTo(10 / 12);
    expect(eer(s)).toBeCloseTo(1 / 3);
    expect(tarAtFmr(s, 1e-3)).toEqual({ tar: 2 / 3, threshold: 0.4 });
  });

  it('fits a valid monotone table whose tail extrapolates below 1/N', () => {
    const impostor = Array.from({ length: 1000 }, (_, i) => Math.sin(i * 12.9898) * 0.15);
    const table = fitTable(impostor, { id: 'local/test', description: 'synthetic' });
    expect(table.impostorPairs).toBe(1000);
    const top = Math.max(...impostor);
    expect(fmrOf(table, top).fmr).toBeCloseTo(1e-3);
    expect(fmrOf(table, top + 0.2)).toMatchObject({ extrapolated: true });
    expect(fmrOf(table, top + 0.2).fmr).toBeLessThan(1e-4);
  });
});

describe('runEval', () => {
  it('prints one JSON object for a small pairs file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'verigate-eval-'));
    const file = join(dir, 'pairs.tsv');
    writeFileSync(
      file,
      [
        '# small set',
        `${FACES}/deepface/img1.jpg\t${FACES}/deepface/img2.jpg\t1`,
        `${FACES}/deepface/img1.jpg\t${FACES}/deepface/img20.jpg\t0`,
        `${FACES}/deepface/img2.jpg\t${FACES}/deepface/img21.jpg\t0`,
      ].join('\n'),
    );
    const lines: string[] = [];
    const code = await runEval(['--pairs', file, '--json', '--workers', '2'], (l) => lines.push(l));
    expect(code).toBe(0);
    expect(lines).toHaveLength(1);
    const result = JSON.parse(lines[0]);
    expect(result).toMatchObject({ auc: 1, eer: 0, missedFaces: 0, pairs: 3 });
    expect(Object.keys(result.tarAtFmr)).toEqual(['1e-2', '1e-3']);
  });

  it('exits 2 with usage when given nothing to evaluate', async () => {
    const lines: string[] = [];
    await expect(runEval([], (l) => lines.push(l))).resolves.toBe(2);
    expect(lines[0]).toMatch(/usage/);
  });
});
