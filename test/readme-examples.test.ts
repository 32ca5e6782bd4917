/**
 * README.md's shell examples, run as written against a live server started with README.md's own
 * start command (`npm start`, which builds first), with real photos over the ~96 KB at which a
 * base64 command-line argument breaks. Every ```sh block is either run, or listed in NOT_RUN with
 * the reason and where else it is covered; a new block that is neither fails this test.
 *
 * The one change made to the examples: the server listens on a free port instead of 4000 (another
 * process on this machine may hold 4000), so `http://127.0.0.1:4000` becomes that address.
 * Each curl answer must be a GraphQL answer with data and no errors (curl --fail-with-body, then
 * parsed here), and the checks the examples send must be decided as the same person.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../src/paths';
import { FACES_DIR } from './support/faces';
import { freshConnection, processEnv } from './support/process';

/** a photo of a person and a specimen passport page of the same person */
const PHOTOS = { 'selfie.jpg': 'idenfy-documents/TheresaMayFace.jpg', 'passport.jpg': 'idenfy-documents/TheresaMay.jpg' };
/** Linux's limit on one command-line argument (MAX_ARG_STRLEN): what `jq --arg s "$(base64 …)"` hits */
const ARG_LIMIT = 128 * 1024;
const INSTALL = 'npm install --no-audit --no-fund && ';

/** first line of a block that is not run → why, and what covers it instead */
const NOT_RUN: Record<string, string> = {
  'npm install --no-audit --no-fund && npm test': 'the test command itself: .ci/run runs it on a clean clone',
  'createdb verigate': 'PostgreSQL instead of PGlite: every store test runs on PostgreSQL with TEST_DATABASE_URL (.ci/run sets it)',
  'gql $ADMIN \'{"query":"query($t: ID!, $p: JSONObject!) { replayPolicy(tenantId: $t, policy: $p, from: \\"2026-11-01T00:00:00Z\\", to: \\"2026-12-01T00:00:00Z\\") { checks replayed withoutEvidence changed transitions { from to count } changedChecks { id from to reasons } } }","variables":{"t":"<tenant id>","p":{"strategy":{"type":"single","provider":{"provider":"local"}},"thresholds":{"acceptFmr":1e-6}}}}\'':
    'replayPolicy needs a tenant with decided checks in the range (the README shows a placeholder id): test/policy/verdicts.test.ts replays stored checks over HTTP',
  'node bin/verigate.js calibrate --pairs ../shared/faces/pairs_deepface.tsv \\':
    'minutes of CPU over every labelled pair; calibration is tested on small sets in test/policy and test/local/eval.test.ts',
};

interface Block {
  heading: string;
  line: number;
  code: string;
}

function shellBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  let heading = '';
  let open: Block | undefined;
  markdown.split('\n').forEach((text, i) => {
    if (open) {
      if (text.startsWith('```')) {
        blocks.push(open);
        open = undefined;
      } else open.code += `${text}\n`;
    } else if (text.startsWith('```sh')) open = { heading, line: i + 1, code: '' };
    else if (/^#{2,3} /.test(text)) heading = text.replace(/^#+ /, '');
  });
  return blocks;
}

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

function run(script: string, cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number) {
  const child = spawn('bash', ['-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
  child.stderr.on('data', (c: Buffer) => (out += c.toString('utf8')));
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), timeoutMs);
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    }),
  );
  return { child, exited, output: () => out };
}

describe('README.md', () => {
  const blocks = shellBlocks(readFileSync(join(PROJECT_ROOT, 'README.md'), 'utf8'));
  const firstLine = (b: Block) => b.code.split('\n')[0];
  const start = blocks.find((b) => firstLine(b).startsWith(INSTALL) && firstLine(b).includes('npm start'));
  const examples = blocks.filter((b) => b !== start && !(firstLine(b) in NOT_RUN));

  it('has a start command, examples, and no block left unaccounted for', () => {
    expect(start?.heading).toBe('Set-up (two commands)');
    expect(blocks.filter((b) => firstLine(b) in NOT_RUN).map(firstLine).sort()).toEqual(Object.keys(NOT_RUN).sort());
    expect(examples.map((b) => b.heading)).toEqual(['Using it', 'Limits, hardening and privacy']);
    expect(examples[0].code).toContain('http://127.0.0.1:4000/graphql'); // the later blocks use its gql()
  });

  it('every example works as written against a server started with its start command', async () => {
    const work = mkdtempSync(join(tmpdir(), 'vg-readme-'));
    const port = await freePort();
    for (const [name, rel] of Object.entries(PHOTOS)) {
      copyFileSync(join(FACES_DIR, rel), join(work, name));
      // real photo sizes: their base64 would not fit in one command-line argument
      expect(Math.ceil(statSync(join(work, name)).size / 3) * 4).toBeGreaterThan(ARG_LIMIT);
    }
    // the start command as written, minus the install this checkout already has
    const server = run(firstLine(start!).slice(INSTALL.length), PROJECT_ROOT, processEnv({ NODE_ENV: 'development', PORT: String(port), VERIGATE_DATA_DIR: join(work, 'data') }), 300_000);
    try {
      const url = `http://127.0.0.1:${port}`;
      while ((await freshConnection(url, '/readyz')).status !== 200) {
        if (server.child.exitCode !== null) throw new Error(`the start command exited (${server.child.exitCode}):\n${server.output().slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 200));
      }

      const responses = join(work, 'responses.jsonl');
      const script = [
        'set -euo pipefail',
        // every answer is kept for the checks below; a non-2xx answer fails the command
        `curl() { command curl --fail-with-body "$@" | tee -a ${responses}; printf '\\n' >> ${responses}; }`,
        ...examples.map((b) => `# README.md line ${b.line}\n${b.code.replaceAll('http://127.0.0.1:4000', url)}`),
      ].join('\n');
      const shell = run(script, work, processEnv({}), 120_000);
      const code = await shell.exited;
      const answers = readFileSync(responses, 'utf8')
        .split('\n')
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l) as { data?: Record<string, any> | null; errors?: unknown[] });
      expect({ code, output: code === 0 ? '' : shell.output().slice(-3000) }).toEqual({ code: 0, output: '' });
      expect(answers.filter((a) => a.errors || !a.data)).toEqual([]);

      const fields = answers.map((a) => Object.keys(a.data!)[0]);
      expect(fields).toEqual(['createTenant', 'createApiKey', 'verifyIdentity', 'verifyIdentity', 'checks', 'setTenantProvider', 'setTenantLimits', 'tenantLimits']);
      const [viaJson, viaFiles] = answers.filter((a) => a.data!.verifyIdentity).map((a) => a.data!.verifyIdentity);
      expect(viaJson).toMatchObject({ status: 'ACCEPTED', reasons: [], liveness: { live: true } });
      expect(viaFiles).toMatchObject({ status: 'ACCEPTED' });
      expect(answers[4].data!.checks.edges.map((e: any) => e.node.id).sort()).toEqual([viaJson.id, viaFiles.id].sort());
    } finally {
      process.kill(-server.child.pid!, 'SIGTERM');
      await server.exited;
      rmSync(work, { recursive: true, force: true });
    }
  }, 420_000);
});
