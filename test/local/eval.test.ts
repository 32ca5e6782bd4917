import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auc, eer, fitTable, readLiveness, readPairs, runEval, tarAtFmr } from '../../src/eval';
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

describe('labelled files', () => {
  /** a pair file of real images in a folder of its own, `sub/` included */
  const folder = () => {
    const dir = mkdtempSync(join(tmpdir(), 'verigate-sets-'));
    mkdirSync(join(dir, 'sub'));
    for (const name of ['a.jpg', 'sub/b.jpg', 'c.jpg', 'd.jpg']) copyFileSync(join(FACES, 'deepface/img1.jpg'), join(dir, name));
    return (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name));
  };

  it('reads pairs relative to the file, past comments, a header row, a byte order mark and CRLF', () => {
    const write = folder();
    const file = write('pairs.tsv', '\uFEFFimg_a\timg_b\tsame\r\n# a comment\r\na.jpg\tsub/b.jpg\t1\r\n\r\nc.jpg\td.jpg\t0\r\n');
    const dir = join(file, '..');
    expect(readPairs(file)).toEqual([
      { a: join(dir, 'a.jpg'), b: join(dir, 'sub/b.jpg'), same: true },
      { a: join(dir, 'c.jpg'), b: join(dir, 'd.jpg'), same: false },
    ]);
    const marked = write('marked.tsv', '\uFEFFa.jpg\tc.jpg\t1\n'); // a byte order mark before the first path
    expect(readPairs(marked)[0].a).toBe(join(dir, 'a.jpg'));
    const liveness = write('live.tsv', 'path\tlabel\na.jpg\treal\nc.jpg\tspoof\n');
    expect(readLiveness(liveness).map((s) => s.real)).toEqual([true, false]);
  });

  it('stops before scoring anything: a row that is not a pair, a missing image, no rows at all', () => {
    const write = folder();
    expect(() => readPairs(write('p1.tsv', 'a.jpg\tc.jpg\t1\nc.jpg\td.jpg\tyes\n'))).toThrow(/row 2 is not img_a<TAB>img_b<TAB>1\|0/);
    expect(() => readLiveness(write('l1.tsv', 'a.jpg\treal\nc.jpg\tfake\n'))).toThrow(/row 2 is not path<TAB>real\|spoof/);
    expect(() => readPairs(write('p2.tsv', 'a.jpg\tc.jpg\t1\na.jpg\tgone.jpg\t0\n'))).toThrow(/row 2: no such image .*gone\.jpg/);
    expect(() => readLiveness(write('l2.tsv', 'gone.jpg\treal\n'))).toThrow(/row 1: no such image/);
    // a lone malformed row reads as a header: it must not pass for an empty, perfect evaluation
    expect(() => readPairs(write('p3.tsv', 'a.jpg\tc.jpg\tx\n'))).toThrow(/no rows img_a/);
    expect(() => readLiveness(write('l3.tsv', '# nothing\n'))).toThrow(/no rows path/);
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

  it('exits 1 and says why when every same-person pair missed a face (AUC needs both kinds)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'verigate-eval-'));
    const file = join(dir, 'pairs.tsv');
    writeFileSync(join(dir, 'note.jpg'), 'not an image');
    writeFileSync(file, [`note.jpg\t${FACES}/deepface/img2.jpg\t1`, `${FACES}/deepface/img1.jpg\t${FACES}/deepface/img20.jpg\t0`].join('\n'));
    const lines: string[] = [];
    const code = await runEval(['--pairs', file, '--json', '--workers', '1'], (l) => lines.push(l));
    expect(code).toBe(1);
    expect(JSON.parse(lines[0])).toEqual({
      error: 'no same pair was scored (1 missed a face): the rates need both kinds',
      auc: null,
      missedFaces: 1,
      pairs: 2,
      genuine: 0,
      impostor: 1,
    });
  });

  it('exits 2 with usage when given nothing to evaluate', async () => {
    const lines: string[] = [];
    await expect(runEval([], (l) => lines.push(l))).resolves.toBe(2);
    expect(lines[0]).toMatch(/usage/);
  });
});
