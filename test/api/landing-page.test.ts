/**
 * Content-Security-Policy. API answers carry `default-src 'none'` (nothing in them should ever
 * load or run). Apollo's landing page (development only) carries its own nonce-based policy in a
 * <meta> tag; with our header also enforced, Chromium blocked every script, style and image of it
 * (checked with headless Chromium: 8 violations before, none after). The page's header now keeps
 * only `frame-ancestors 'none'`, which a <meta> policy cannot express.
 */
import { startHarness, type Harness } from '../support/harness';
import { scriptedCalibration, scriptedProvider } from '../support/scripted-provider';
import { PGLITE } from '../support/stores';
import type { Db } from '../../src/store/db';

describe('Content-Security-Policy', () => {
  let db: Db;
  let h: Harness;
  beforeAll(async () => {
    db = await PGLITE.open();
    h = await startHarness({ db, providers: [scriptedProvider('local')], calibration: scriptedCalibration(), env: { NODE_ENV: 'development' } });
  });
  afterAll(async () => {
    await h?.close();
    await PGLITE.dispose(db);
  });

  it("the landing page: only frame-ancestors in the header, Apollo's own nonce policy in the page", async () => {
    const res = await fetch(h.url, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toBe("frame-ancestors 'none'");
    const html = await res.text();
    const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? '';
    const nonce = /'nonce-([0-9a-f]+)'/.exec(meta)?.[1];
    expect(meta).toMatch(/script-src 'self' 'nonce-/);
    // every inline script of the page carries that nonce, so the page's own policy lets it run
    const scripts = [...html.matchAll(/<script(?![^>]*\bsrc=)([^>]*)>/g)].map((m) => m[1]);
    expect(scripts.length).toBeGreaterThan(0);
    for (const attrs of scripts) expect(attrs).toContain(`nonce="${nonce}"`);
  });

  it("API answers keep default-src 'none'", async () => {
    for (const res of [
      await fetch(h.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' }),
      await fetch(h.url.replace(/\/graphql$/, '/readyz')),
    ]) {
      expect(res.headers.get('content-security-policy')).toBe("default-src 'none'; frame-ancestors 'none'");
    }
  });
});
