/** Configuration fails fast and names the variable; the CLI's migrate, keys and schema commands work on a real store. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../src/cli';
import { ConfigError, loadConfig } from '../../src/config';
import { PROJECT_ROOT } from '../../src/paths';
import { openDb } from '../../src/store/db';
import { createStore } from '../../src/store/repositories';

describe('configuration', () => {
  it('has working defaults', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ PORT: 4000, HOST: '127.0.0.1', VERIGATE_DATA_DIR: './data', VERIGATE_DEFAULT_PROVIDER: 'local' });
    expect(c.DATABASE_URL).toBeUndefined();
  });

  it.each([
    ['PORT', 'eighty'],
    ['PORT', '70000'],
    ['DATABASE_URL', 'mysql://x'],
    ['VERIGATE_DEFAULT_PROVIDER', 'acme'],
    ['VERIGATE_BOOTSTRAP_ADMIN_KEY', 'short'],
    ['FACIA_URL', 'not a url'],
  ])('refuses %s=%s with a message naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`^invalid configuration:\\n  ${name}:`));
  });

  it('reads an optional JSON file, with the environment winning', () => {
    const dir = mkdtempSync(join(tmpdir(), 'vg-cfg-'));
    const file = join(dir, 'verigate.json');
    writeFileSync(file, JSON.stringify({ PORT: 5001, LOG_LEVEL: 'warn' }));
    expect(loadConfig({ VERIGATE_CONFIG_FILE: file, LOG_LEVEL: 'debug' })).toMatchObject({ PORT: 5001, LOG_LEVEL: 'debug' });
    expect(() => loadConfig({ VERIGATE_CONFIG_FILE: join(dir, 'missing.json') })).toThrow(/VERIGATE_CONFIG_FILE/);
    rmSync(dir, { recursive: true });
  });
});

describe('CLI', () => {
  let dir: string;
  let out: string;
  const saved = { ...process.env };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vg-cli-'));
    process.env.VERIGATE_DATA_DIR = dir;
    delete process.env.DATABASE_URL;
    out = '';
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += chunk.toString();
      return true;
    });
    jest.spyOn(console, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => {
    jest.restoreAllMocks();
    process.env = { ...saved };
    rmSync(dir, { recursive: true, force: true });
  });

  it('migrates, then creates an admin key stored only as a hash', async () => {
    expect(await runCli(['migrate'])).toBe(0);
    expect(out).toMatch(/applied migrations 1/);
    out = '';
    expect(await runCli(['keys', 'create', '--admin'])).toBe(0);
    const secret = out.trim();
    expect(secret).toMatch(/^vg_adm_/);
    const db = await openDb({ dataDir: dir });
    try {
      const key = await createStore(db).keys.findActive(secret);
      expect(key).toMatchObject({ role: 'admin', tenantId: null });
      expect(JSON.stringify(await db.query('SELECT * FROM api_keys'))).not.toContain(secret);
    } finally {
      await db.close();
    }
  });

  it('purges nothing on a fresh store, and says so', async () => {
    expect(await runCli(['purge'])).toBe(0);
    expect(out).toContain('purged 0 checks and 0 attempts of 0 tenants');
  });

  it('refuses a tenant key for an unknown tenant, and bad usage', async () => {
    expect(await runCli(['keys', 'create', '--tenant', '6f1c2d7e-0000-4000-8000-000000000000'])).toBe(1);
    expect(await runCli(['keys', 'create'])).toBe(2);
    expect(await runCli(['frobnicate'])).toBe(2);
  });

  it('prints the committed schema', async () => {
    expect(await runCli(['schema'])).toBe(0);
    expect(out).toBe(readFileSync(join(PROJECT_ROOT, 'schema.graphql'), 'utf8'));
  });

  it('stops with exit code 78 on bad configuration', async () => {
    process.env.PORT = 'eighty';
    expect(await runCli(['migrate'])).toBe(78);
  });
});
