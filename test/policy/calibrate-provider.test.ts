/** `verigate calibrate --provider facia` fits a table from labelled pairs scored by the real adapter, here against the Facia emulator. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCalibrate } from '../../src/eval';
import { unify, validateTable } from '../../src/verification/calibration';
import { startFaciaEmulator, type FaciaEmulator } from '../fakes/facia-emulator';
import { closeLocalScorer } from '../fakes/scorer';
import { FACES_DIR, readPairs } from '../support/faces';

describe('calibrate --provider facia', () => {
  let facia: FaciaEmulator;
  let dir: string;
  const saved = { ...process.env };
  beforeAll(async () => {
    facia = await startFaciaEmulator();
    process.env.FACIA_URL = facia.url;
    process.env.FACIA_HASH_ID = facia.hashId;
    dir = mkdtempSync(join(tmpdir(), 'vg-cal-'));
  });
  afterAll(async () => {
    process.env = saved;
    await facia.close();
    await closeLocalScorer();
    rmSync(dir, { recursive: true, force: true });
  });

  it('fits a monotone unit-scale table that ranks same-person pairs above impostors', async () => {
    const lines: string[] = [];
    const file = join(FACES_DIR, 'pairs_face_recognition.tsv');
    const outFile = join(dir, 'facia.json');
    expect(await runCalibrate(['--provider', 'facia', '--pairs', file, '--out', outFile], (l) => lines.push(l))).toBe(0);
    const table = validateTable(JSON.parse(readFileSync(outFile, 'utf8')));
    const pairs = readPairs('pairs_face_recognition.tsv');
    expect(table).toMatchObject({ id: 'facia/measured', scale: 'unit', origin: 'measured', impostorPairs: pairs.filter((p) => !p.same).length });
    expect(table.description).toContain('pairs_face_recognition.tsv');
    expect(facia.recorder.count('process_face')).toBeGreaterThanOrEqual(pairs.length);
    // a perfect similarity is rarer than the best impostor; a zero one is not rare at all
    expect(unify(table, 1).fmr).toBeLessThan(1 / table.impostorPairs);
    expect(unify(table, 0).fmr).toBe(1);
    expect(lines.join('\n')).toMatch(/calibrated facia\/measured on \d+ impostor pairs/);
  });

  it('refuses a provider that is not configured', async () => {
    delete process.env.REKOGNITION_REGION;
    const lines: string[] = [];
    expect(await runCalibrate(['--provider', 'rekognition', '--pairs', join(FACES_DIR, 'pairs_face_recognition.tsv')], (l) => lines.push(l))).toBe(2);
    expect(lines[0]).toMatch(/not configured/);
  });
});
