/**
 * The admin console in a real browser: Debian's Chromium driven by playwright-core against a real
 * gateway (NODE_ENV=production: introspection off) with checks made from ../shared/faces through
 * the local engine, and a Facia emulator shadowing it (scored by the local engine too) so that the
 * agreement report has two providers to compare. A person's path through every page: sign in,
 * filter to a check and read its decision, review an INCONCLUSIVE one, create a tenant and a key,
 * switch its provider and limits, erase a subject, save an invalid then a valid policy, replay and
 * roll back, read providers and usage; the keyboard alone; axe-core on every page; the CSP.
 * Screenshots of each page go to test-artifacts/console/ (git-ignored); with
 * VERIGATE_DOCS_SCREENSHOTS=1 the checks page and a check's detail are also written to docs/.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import axe from 'axe-core';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import { createFaciaProvider } from '../../providers/facia';
import { createLocalProvider } from '../../providers/local';
import { PROJECT_ROOT } from '../../src/paths';
import type { Db } from '../../src/store/db';
import { startFaciaEmulator, type FaciaEmulator } from '../fakes/facia-emulator';
import { closeLocalScorer } from '../fakes/scorer';
import {
  ChecksDocument,
  CompareFacesDocument,
  PolicyHistoryDocument,
  SetTenantPolicyDocument,
  TenantLimitsDocument,
  TenantPolicyDocument,
  TenantsDocument,
  UsageDocument,
  VerifyIdentityDocument,
} from '../generated/graphql';
import { ensureConsoleBuilt, hasChromium, launchChromium, CHROMIUM } from '../support/browser';
import { faceBase64 } from '../support/faces';
import { ADMIN_KEY, postRaw, startHarness, type Harness } from '../support/harness';
import { PGLITE } from '../support/stores';

const ARTIFACTS = join(PROJECT_ROOT, 'test-artifacts', 'console');
const DOCS = join(PROJECT_ROOT, 'docs');
const MAY_SELFIE = 'idenfy-documents/TheresaMayFace.jpg';
const MAY_PASSPORT = 'idenfy-documents/TheresaMay.jpg';
const OBAMA_SELFIE = 'idenfy-documents/BarackObamaFace.jpg';
const OBAMA_PASSPORT = 'idenfy-documents/BarackHusseinObama.jpg';
const BIRUTE_SELFIE = 'idenfy-documents/BasanavicieneBiruteFace.jpg';
const BIRUTE_PASSPORT = 'idenfy-documents/BasanavicieneBirute.jpg';

/** the policy that makes the same-person pairs INCONCLUSIVE: nothing reaches FMR ≤ 1e-12 */
const TIGHT = {
  strategy: { type: 'single', provider: { provider: 'local' } },
  shadow: [{ provider: 'facia' }],
  thresholds: { acceptFmr: 1e-12, inconclusiveFmr: 1e-3 },
};
const LOOSE = { ...TIGHT, thresholds: { acceptFmr: 1e-5, inconclusiveFmr: 1e-3 } };

/**
 * The page's globals inside functions run in the browser (this program is typed for Node, without
 * the DOM). Predicates are passed as functions, never strings: Playwright polls a string with eval,
 * which the console's CSP refuses (and the CSP test below would report).
 */
type InPage = { document: any };

const suite = hasChromium() ? describe : describe.skip;
const title = hasChromium() ? 'admin console in Chromium' : `admin console in Chromium (skipped: ${CHROMIUM} not installed — apt-get install -y chromium)`;

suite(title, () => {
  let db: Db;
  let h: Harness;
  let facia: FaciaEmulator;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let origin: string;
  let acme: { id: string; key: string };
  const ids: Record<string, string> = {};
  const consoleErrors: string[] = [];
  const cspViolations: string[] = [];
  const screenshots: string[] = [];

  async function shot(name: string, docs?: string): Promise<void> {
    const png = await page.screenshot({ fullPage: true, path: join(ARTIFACTS, `${name}.png`) });
    screenshots.push(name);
    // the README's copies: the first screen only, as a palette PNG (small enough to commit)
    if (docs && process.env.VERIGATE_DOCS_SCREENSHOTS === '1') {
      const viewport = await page.screenshot({ fullPage: false });
      writeFileSync(join(DOCS, docs), await sharp(viewport).png({ palette: true, colours: 64, compressionLevel: 9 }).toBuffer());
    }
    expect(png.length).toBeGreaterThan(10_000);
  }
  const go = async (path: string) => {
    await page.goto(`${origin}/admin${path}`);
    await page.locator('h1').first().waitFor();
  };
  const nav = (name: string) => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });

  beforeAll(async () => {
    ensureConsoleBuilt();
    mkdirSync(ARTIFACTS, { recursive: true });
    mkdirSync(DOCS, { recursive: true });
    db = await PGLITE.open();
    facia = await startFaciaEmulator({});
    h = await startHarness({
      db,
      providers: [createLocalProvider({ workers: 2 }), createFaciaProvider({ url: facia.url, hashId: facia.hashId, timeoutMs: 15_000 })],
      env: { NODE_ENV: 'production', VERIGATE_PRICE_PER_CALL: '{"facia":0.002,"rekognition":0.001}' },
    });
    origin = new URL(h.url).origin;

    // real checks through the local engine (Facia's emulator shadows each, scored by the local engine too)
    acme = await h.tenant('acme', 'local');
    await h.gql(SetTenantPolicyDocument, { tenantId: acme.id, policy: LOOSE });
    const verify = async (selfie: string, document: string, referenceId: string) => {
      const r = await h.gql(VerifyIdentityDocument, { input: { selfie: faceBase64(selfie), document: faceBase64(document), referenceId } }, acme.key);
      if (!r.data) throw new Error(`verifyIdentity failed: ${JSON.stringify(r.errors)}`);
      ids[referenceId] = r.data.verifyIdentity.id;
      return r.data.verifyIdentity.status;
    };
    expect(await verify(MAY_SELFIE, MAY_PASSPORT, 'customer-1')).toBe('ACCEPTED');
    expect(await verify(MAY_SELFIE, OBAMA_PASSPORT, 'customer-2')).toBe('REJECTED');
    expect(await verify(MAY_SELFIE, MAY_PASSPORT, 'erase-me')).toBe('ACCEPTED');
    for (const [a, b] of [
      [BIRUTE_SELFIE, BIRUTE_PASSPORT],
      [OBAMA_SELFIE, MAY_PASSPORT],
      [BIRUTE_SELFIE, OBAMA_PASSPORT],
    ]) {
      const r = await h.gql(CompareFacesDocument, { input: { source: faceBase64(a), target: faceBase64(b) } }, acme.key);
      expect(r.errors).toBeUndefined();
    }
    await h.gql(SetTenantPolicyDocument, { tenantId: acme.id, policy: TIGHT });
    expect(await verify(MAY_SELFIE, MAY_PASSPORT, 'customer-3')).toBe('INCONCLUSIVE');
    // a same-person pair that stays INCONCLUSIVE under the default thresholds too (its FMR is about 1e-4)
    expect(await verify(OBAMA_SELFIE, OBAMA_PASSPORT, 'customer-4')).toBe('INCONCLUSIVE');

    browser = await launchChromium();
    context = await browser.newContext({ viewport: { width: 1280, height: 860 }, deviceScaleFactor: 1 });
    page = await context.newPage();
    // CSP violations are reported to the page: passed on from an init script (not subject to the CSP), every page
    await context.exposeFunction('__cspViolation', (v: string) => void cspViolations.push(v));
    await context.addInitScript(
      "document.addEventListener('securitypolicyviolation', (e) => window.__cspViolation(location.pathname + ': ' + e.violatedDirective + ' ' + e.blockedURI))",
    );
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    page.on('pageerror', (e) => consoleErrors.push(e.message));
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await h?.close();
    await facia?.close();
    await closeLocalScorer();
    if (db) await PGLITE.dispose(db);
  });

  it('serves the console at /admin under a strict CSP, with index.html for client routes and nothing outside its folder', async () => {
    const index = await fetch(`${origin}/admin/tenants/some-id`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = index.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    const html = await index.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
    const asset = /src="(\/admin\/assets\/[^"]+\.js)"/.exec(html)![1];
    const js = await fetch(`${origin}${asset}`);
    expect([js.status, js.headers.get('content-type'), js.headers.get('cache-control')]).toEqual([200, 'text/javascript; charset=utf-8', 'public, max-age=31536000, immutable']);
    expect((await fetch(`${origin}/admin/assets/missing.js`)).status).toBe(404);
    for (const path of ['/admin/..%2fpackage.json', '/admin/%2e%2e/%2e%2e/package.json']) expect((await fetch(`${origin}${path}`)).status).toBe(404);
    expect((await fetch(`${origin}/admin/`, { method: 'POST' })).status).toBe(405);
    // the console needs no introspection: it is off here (NODE_ENV=production)
    const intro = await postRaw(h.url, JSON.stringify({ query: '{ __schema { types { name } } }' }), { authorization: `Bearer ${ADMIN_KEY}` });
    expect(intro.text).toMatch(/introspection/i);
  });

  it('signs in with an admin key kept in sessionStorage, never in a cookie', async () => {
    await go('/');
    await page.getByLabel('Admin API key').fill(acme.key);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('needs an admin key');
    await shot('01-sign-in');
    await page.getByLabel('Admin API key').fill(ADMIN_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Checks' }).waitFor();
    expect(page.url()).toBe(`${origin}/admin/checks`);
    expect(await context.cookies()).toEqual([]);
    expect(await page.evaluate("sessionStorage.getItem('verigate.adminKey')")).toBe(ADMIN_KEY);
    expect(await page.evaluate('document.cookie')).toBe('');
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Checks' }).waitFor();
  });

  it('filters the checks to one and opens its detail: the decision explained, every call, never an image', async () => {
    await go('/checks');
    await page.locator('tbody tr').first().waitFor();
    await shot('02-checks', 'console-checks.png');
    await page.getByLabel('Tenant').selectOption({ label: 'acme' });
    await page.getByLabel('Status').selectOption('ACCEPTED');
    await page.getByLabel('Reference id').fill('customer-1');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.waitForFunction(() => (globalThis as unknown as InPage).document.querySelectorAll('tbody tr').length === 1 && (globalThis as unknown as InPage).document.querySelector('tbody').textContent.includes('customer-1'));
    expect(await page.locator('tbody tr .chip').first().textContent()).toBe('ACCEPTED');

    await page.getByRole('link', { name: `Open check ${ids['customer-1']}` }).click();
    await page.getByRole('heading', { level: 2, name: 'Decision explained' }).waitFor();
    expect(page.url()).toBe(`${origin}/admin/checks/${ids['customer-1']}`);
    const explained = (await page.locator('ul.explain').textContent())!;
    expect(explained).toMatch(/Face match by local: FMR \d\.\d\de-\d+ ≤ accept threshold 1\.00e-5 → matched/);
    expect(explained).toContain('local/faceplugin-v1');
    expect(explained).toContain('measured on labelled pairs');
    expect(explained).toMatch(/Liveness by local: score 0\.\d+ ≥ threshold 0\.50 → live\. APCER at this score \d+\.\d %/);
    const calls = page.locator('section[aria-labelledby="attempts"] tbody tr');
    await expect(calls.count()).resolves.toBe(2);
    expect(await calls.nth(0).textContent()).toMatch(/local.*primary.*match, liveness.*OK.*\d+ ms/);
    expect(await calls.nth(1).textContent()).toMatch(/facia.*shadow.*OK/);
    expect(await page.locator('img, picture, canvas, video').count()).toBe(0);
    expect(await page.content()).not.toContain(faceBase64(MAY_SELFIE).slice(100, 160));
    await shot('03-check-detail', 'console-check-detail.png');
  });

  it('reviews an INCONCLUSIVE check from the queue with a required note', async () => {
    await nav('Review queue').click();
    await page.getByRole('heading', { level: 1, name: 'Review queue' }).waitFor();
    const item = page.locator('ol.queue > li', { hasText: 'customer-3' });
    await item.waitFor();
    expect(await item.textContent()).toContain('MATCH_INCONCLUSIVE');
    const approve = item.getByRole('button', { name: 'Approve' });
    expect(await approve.isDisabled()).toBe(true);
    await shot('04-review-queue');
    await item.getByLabel(/Note/).fill('Passport photo and selfie compared by hand: same person');
    await approve.click();
    await page.getByRole('status').filter({ hasText: 'approved' }).waitFor();
    await page.locator('ol.queue > li', { hasText: 'customer-3' }).waitFor({ state: 'detached' });
    const stored = await h.app.services.store.checks.get({ role: 'admin' }, ids['customer-3']);
    expect(stored).toMatchObject({ status: 'INCONCLUSIVE', review: { decision: 'ACCEPT', note: 'Passport photo and selfie compared by hand: same person' } });
    // the detail page shows it
    await go(`/checks/${ids['customer-3']}`);
    await page.getByText('Reviewer\'s note:').waitFor();
    expect(await page.locator('dl.facts').first().textContent()).toContain('reviewed: ACCEPT');
  });

  it('creates a tenant and a key (shown once), switches its provider, sets its limits', async () => {
    await go('/tenants');
    await page.getByLabel('Name').fill('globex');
    await page.getByLabel('Provider').selectOption('local');
    await page.getByRole('button', { name: 'Create tenant' }).click();
    await page.getByRole('heading', { level: 1, name: 'Tenant globex' }).waitFor();
    const tenantId = page.url().split('/').pop()!;

    await page.getByLabel('Label').fill('web backend');
    await page.getByRole('button', { name: 'Create key' }).click();
    const secret = await page.getByLabel('New key').inputValue();
    expect(secret).toMatch(/^vg_tnt_/);
    await shot('05-tenant-new-key');
    // the key works, for this tenant
    const asTenant = await h.gql(ChecksDocument, { first: 1 }, secret);
    expect(asTenant.errors).toBeUndefined();
    await page.getByRole('button', { name: 'I have copied it' }).click();
    expect(await page.getByLabel('New key').count()).toBe(0);
    expect(await page.locator('body').textContent()).not.toContain(secret);
    await page.getByRole('button', { name: /Revoke key vg_tnt_.* \(web backend\)/ }).click();
    await page.getByText(/revoked \d{4}-/).waitFor();
    expect((await h.gql(ChecksDocument, { first: 1 }, secret)).status).toBe(401);

    await page.getByLabel('Route checks to').selectOption('facia');
    await page.getByRole('button', { name: 'Switch provider' }).click();
    await page.getByText('Provider set to facia.').waitFor();
    const tenants = await h.gql(TenantsDocument, {});
    expect(tenants.data!.tenants.find((t) => t.id === tenantId)?.provider).toBe('facia');

    await page.getByLabel('Checks per UTC day').fill('500');
    await page.getByLabel('Retention (days)').fill('90');
    await page.getByRole('button', { name: 'Save limits' }).click();
    await page.getByText('Limits saved').waitFor();
    const limits = await h.gql(TenantLimitsDocument, { tenantId });
    expect(limits.data!.tenantLimits).toMatchObject({ checksPerDay: 500, retentionDays: 90, burst: null });
    await shot('06-tenant');
  });

  it('erases a subject only once its reference id is typed twice', async () => {
    await go(`/tenants/${acme.id}`);
    const erase = page.getByRole('button', { name: 'Erase subject' });
    await page.getByLabel('Reference id', { exact: true }).fill('erase-me');
    await page.getByLabel('Type it again to confirm').fill('erase-m');
    expect(await erase.isDisabled()).toBe(true);
    await page.getByLabel('Type it again to confirm').fill('erase-me');
    await erase.click();
    await page.getByText('Erased 1 checks and 2 attempts.').waitFor();
    expect(await h.app.services.store.checks.get({ role: 'admin' }, ids['erase-me'])).toBeNull();
  });

  it('policy editor: refuses invalid JSON and an invalid policy inline, saves a valid one after a replay, rolls back', async () => {
    await go(`/policy/${acme.id}`);
    const editor = page.getByLabel('Policy (JSON)');
    await page.waitForFunction(() => (globalThis as unknown as InPage).document.getElementById('policy-json')?.value.includes('1e-12'));
    const save = page.getByRole('button', { name: 'Save as new version' });
    const before = (await h.gql(PolicyHistoryDocument, { tenantId: acme.id })).data!.policyHistory.length;

    await editor.fill('{ "strategy": ');
    await page.getByText(/^Not valid JSON:/).waitFor();
    expect(await save.isDisabled()).toBe(true);
    expect(await editor.getAttribute('aria-invalid')).toBe('true');

    await editor.fill(JSON.stringify({ ...TIGHT, thresholds: { acceptFmr: 2, inconclusiveFmr: 1e-3 } }, null, 2));
    await save.click();
    const issues = page.locator('#policy-issues');
    await issues.waitFor();
    expect(await issues.textContent()).toMatch(/thresholds\.acceptFmr: .*1/);
    expect(await editor.getAttribute('aria-describedby')).toContain('policy-issues');
    await shot('07-policy-invalid');

    await editor.fill(JSON.stringify(LOOSE, null, 2));
    expect(await page.locator('pre.diff .add', { hasText: '"acceptFmr": 0.00001' }).count()).toBe(1);
    expect(await page.locator('pre.diff .del', { hasText: '"acceptFmr": 1e-12' }).count()).toBe(1);
    await page.getByRole('button', { name: 'Replay the edited policy' }).click();
    const replay = page.locator('section[aria-labelledby="replay-h"] [role="status"]');
    await replay.waitFor();
    // customer-3 (reviewed: its automated status is what replays) passes under the default thresholds; customer-4 does not
    expect(await replay.textContent()).toMatch(/1 would change/);
    expect(await replay.locator('table').textContent()).toMatch(/INCONCLUSIVE\s*ACCEPTED\s*1/);
    expect(await replay.textContent()).toContain(ids['customer-3'].slice(0, 8));
    await save.click();
    await page.getByText(/^Saved as version \d+/).waitFor();
    const saved = (await h.gql(TenantPolicyDocument, { tenantId: acme.id })).data!.tenantPolicy;
    expect(saved.version).toBe(before + 1);
    expect((saved.policy as typeof LOOSE).thresholds.acceptFmr).toBe(1e-5);
    await shot('08-policy-saved');

    await page.getByRole('button', { name: `Roll back to v${before}` }).click();
    await page.getByText(`Saved as version ${before + 2}`).waitFor();
    const rolled = (await h.gql(TenantPolicyDocument, { tenantId: acme.id })).data!.tenantPolicy;
    expect(rolled.version).toBe(before + 2);
    expect((rolled.policy as typeof TIGHT).thresholds.acceptFmr).toBe(1e-12);
    await page.waitForFunction(() => (globalThis as unknown as InPage).document.getElementById('policy-json').value.includes('1e-12'));
  });

  it('providers: circuit, latency and calibration, and the agreement scatter plot of local against facia', async () => {
    await go('/providers');
    const local = page.locator('tbody tr', { has: page.getByRole('rowheader', { name: 'local' }) });
    expect(await local.textContent()).toMatch(/CLOSED.*local\/faceplugin-v1 — measured, package/);
    expect(await page.locator('tbody tr', { has: page.getByRole('rowheader', { name: 'facia' }) }).textContent()).toContain('facia/default');
    await page.getByLabel('Tenant').selectOption({ label: 'acme' });
    const row = page.locator('section[aria-labelledby="agree-h"] tbody tr', { hasText: 'match' });
    await row.waitFor();
    expect(await row.textContent()).toMatch(/local vs facia\s*\d+/);
    const plot = page.getByRole('img', { name: /Scatter plot of \d+ checks: local's unified match score against facia's/ });
    await plot.waitFor();
    expect(await painted(page, plot)).toBe(true);
    await shot('09-providers');
  });

  it('usage: checks per day by status and provider, latency and estimated cost, as the API counts them', async () => {
    await go('/usage');
    const acmeRow = page.locator('table', { hasText: 'Per tenant over the range' }).locator('tbody tr', { hasText: 'acme' });
    await acmeRow.waitFor();
    const from = new Date(Date.now() - 13 * 86_400_000);
    const api = (await h.gql(UsageDocument, { tenantId: acme.id, from: `${from.toISOString().slice(0, 10)}T00:00:00.000Z`, to: new Date(Date.now() + 86_400_000).toISOString() })).data!.usage.totals[0];
    const cells = await acmeRow.locator('td').allTextContents();
    expect(cells[0]).toBe(String(api.checks));
    expect(cells[1]).toContain(`ACCEPTED ${api.byStatus.find((s) => s.status === 'ACCEPTED')!.count}`);
    expect(cells[2]).toBe('1'); // reviewed
    expect(cells[5]).toMatch(/local \d+, p50 \d+ ms; facia \d+, p50 \d+ ms/);
    expect(cells[6]).toBe(api.estimatedCost!.toFixed(4));
    expect(api.estimatedCost).toBeGreaterThan(0);
    for (const name of [/Bar chart: \d+ checks per day by status/, /Bar chart: provider calls per day/]) expect(await painted(page, page.getByRole('img', { name }))).toBe(true);
    await shot('10-usage');
  });

  it('works from the keyboard alone: skip link, navigation, focus on each page heading, a review form', async () => {
    await go('/checks');
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Skip to content');
    // the focused element is visibly marked
    expect(await page.evaluate('getComputedStyle(document.activeElement).outlineStyle')).toBe('solid');
    // through the navigation to "Review queue", then Enter
    for (let i = 0; i < 12 && (await page.evaluate('document.activeElement?.textContent')) !== 'Review queue'; i++) await page.keyboard.press('Tab');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Review queue' }).waitFor();
    expect(await page.evaluate('document.activeElement?.tagName')).toBe('H1');
    // to customer-4's note, type, and reject with the keyboard
    for (let i = 0; i < 40 && (await page.evaluate('document.activeElement?.tagName')) !== 'TEXTAREA'; i++) await page.keyboard.press('Tab');
    await page.keyboard.type('Document photo too worn to compare');
    await page.keyboard.press('Tab'); // Approve
    await page.keyboard.press('Tab'); // Reject
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Reject');
    await page.keyboard.press('Enter');
    await page.getByRole('status').filter({ hasText: 'rejected' }).waitFor();
    expect((await h.app.services.store.checks.get({ role: 'admin' }, ids['customer-4']))?.review?.decision).toBe('REJECT');
  });

  const PAGES = ['/checks', '/checks/:id', '/review', '/tenants', '/tenants/:acme', '/policy/:acme', '/providers', '/usage'];
  it(`axe-core finds no serious or critical accessibility violation on the ${PAGES.length} pages`, async () => {
    const found: string[] = [];
    let rulesRun = 0;
    for (const path of PAGES) {
      await go(path.replace(':id', ids['customer-1']).replace(':acme', acme.id));
      await page.waitForLoadState('networkidle');
      if (path === '/providers') {
        await page.getByLabel('Tenant').selectOption({ label: 'acme' });
        await page.getByRole('img', { name: /Scatter plot/ }).waitFor();
      }
      // evaluated through the DevTools protocol: the page's CSP (no inline script) stays on
      await page.evaluate(axe.source);
      const result = (await page.evaluate("axe.run(document, { resultTypes: ['violations'] })")) as axe.AxeResults;
      rulesRun += result.passes.length + result.violations.length + result.incomplete.length + result.inapplicable.length;
      for (const v of result.violations) if (v.impact === 'serious' || v.impact === 'critical') found.push(`${path}: ${v.id} (${v.impact}) ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    }
    console.log(`axe-core ${axe.version}: ${PAGES.length} pages, ${rulesRun} rule results, serious/critical violations: ${found.length}`);
    expect(found).toEqual([]);
  });

  it('no page broke its CSP or logged an error, and each page has its screenshot', async () => {
    expect(cspViolations).toEqual([]);
    // the sign-in page's refused tenant key is the one expected error (HTTP 403 from /graphql)
    expect(consoleErrors.filter((e) => !/403/.test(e))).toEqual([]);
    expect(screenshots).toEqual(expect.arrayContaining(['02-checks', '03-check-detail', '04-review-queue', '06-tenant', '08-policy-saved', '09-providers', '10-usage']));
    for (const s of screenshots) expect(readFileSync(join(ARTIFACTS, `${s}.png`)).subarray(1, 4).toString()).toBe('PNG');
  });
});

/** The canvas behind a chart's label has drawn pixels (not a blank canvas). */
async function painted(page: Page, chart: ReturnType<Page['getByRole']>): Promise<boolean> {
  await chart.waitFor();
  // the drawn canvas as a PNG, decoded here: pixels that are not transparent
  const dataUrl = (await chart.evaluate((c) => (c as unknown as { toDataURL(): string }).toDataURL())) as string;
  const { data, info } = await sharp(Buffer.from(dataUrl.split(',')[1], 'base64')).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  let drawn = 0;
  for (let i = info.channels - 1; i < data.length; i += info.channels) if (data[i] > 0) drawn++;
  return drawn > 500;
}
