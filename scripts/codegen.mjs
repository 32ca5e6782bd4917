// `npm run codegen`: GraphQL Code Generator at pinned versions, installed apart in .cache/codegen
// (its ~300 packages want Node 22 in places and are not needed by the server or the tests), then
// run on codegen.yml with its plugins found through NODE_PATH. Needs the npm registry the first time.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DIR = join(ROOT, '.cache', 'codegen');
const PACKAGES = ['@graphql-codegen/cli@7.4.3', '@graphql-codegen/typescript@6.1.0', '@graphql-codegen/typescript-operations@6.1.9', '@graphql-codegen/typed-document-node@7.1.1'];
const BIN = join(DIR, 'node_modules', '.bin', 'graphql-codegen');
const STAMP = join(DIR, 'installed.txt');

if (!existsSync(BIN) || !existsSync(STAMP) || (await import('node:fs')).readFileSync(STAMP, 'utf8') !== PACKAGES.join('\n')) {
  mkdirSync(DIR, { recursive: true });
  writeFileSync(join(DIR, 'package.json'), '{"name":"verigate-codegen-tools","private":true}\n');
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--no-save', '--ignore-scripts', '--loglevel=error', ...PACKAGES], { cwd: DIR, stdio: 'inherit' });
  writeFileSync(STAMP, PACKAGES.join('\n'));
}
execFileSync(BIN, ['--config', 'codegen.yml', ...process.argv.slice(2)], { cwd: ROOT, stdio: 'inherit', env: { ...process.env, NODE_PATH: join(DIR, 'node_modules') } });
