// What every browser test file shares: one server for the built site (build/wasm/web) and one
// Chromium, started before the file's tests and closed after them with every page the file
// opened, dropping a file on a page, and the check that a page stayed clean.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { after, before } from 'node:test';
import { launch, openPage } from './browser.mjs';
import { SITE, serve } from './server.mjs';

export const ARTIFACTS = new URL('../../build/e2e-artifacts/', import.meta.url);

/**
 * Registers the calling file's before/after hooks; `requires`: files the built site must hold.
 * Returns the site: .server and .chromium (set once the tests run); .open(path, { viewport,
 * ready }) opens a watched page at path and, unless ready is false, waits for the page's first
 * drawn heatmap; .track(context) closes a context the test made itself along with the rest.
 */
export function useSite({ requires = ['index.html'] } = {}) {
  const contexts = [];
  const site = {
    server: null,
    chromium: null,
    track(context) {
      contexts.push(context);
      return context;
    },
    async open(path = '', { viewport, ready = true } = {}) {
      const opened = await openPage(site.chromium.browser, site.server.url, viewport);
      contexts.push(opened.context);
      opened.response = await opened.page.goto(`${site.server.url}${path}`);
      if (ready) await opened.page.waitForSelector('body[data-ready="1"]', { timeout: 20000 });
      return opened;
    },
  };
  before(async () => {
    for (const file of requires) assert.ok(existsSync(`${SITE}/${file}`), `the site is not built: ${SITE}/${file} is missing`);
    mkdirSync(ARTIFACTS, { recursive: true });
    site.server = await serve();
    site.chromium = await launch();
  });
  after(async () => {
    for (const context of contexts) await context.close();
    await site.chromium?.close();
    await site.server?.close();
  });
  return site;
}

/** Drops a file with these bytes on the page, as a user dragging it from the desktop would. */
export async function dropFile(page, name, text) {
  const dataTransfer = await page.evaluateHandle(([n, t]) => {
    const dt = new DataTransfer();
    dt.items.add(new File([t], n, { type: 'application/json' }));
    return dt;
  }, [name, text]);
  await page.dispatchEvent('body', 'drop', { dataTransfer });
}

/** Fails on a request that left the page's origin, a CSP violation or an error in the page. */
export function assertClean(problems) {
  assert.deepEqual(problems.foreign, [], 'requests left the page origin');
  assert.deepEqual(problems.csp, [], 'Content-Security-Policy violations');
  assert.deepEqual(problems.errors, [], 'errors in the page');
}
