// Starts headless Debian Chromium through playwright-core with the flags that keep it from
// reaching out to the network (see /work/shared/TOOLCHAIN.md), and watches a page for
// requests that leave its origin, CSP violations and uncaught errors.
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

// playwright gives each launch a new empty profile (what --user-data-dir=<new dir> does by hand).
export async function launch() {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  return { browser, close: () => browser.close() };
}

/**
 * A new page at a viewport, with a record of problems:
 * foreign (requests outside origin), csp (policy violations), errors (page errors, console errors).
 */
export async function openPage(browser, origin, { width = 1280, height = 900 } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, deviceScaleFactor: 1, acceptDownloads: true });
  const problems = { foreign: [], csp: [], errors: [] };
  await context.route('**/*', (route) => {
    const url = route.request().url();
    const own = url.startsWith('blob:') ? new URL(url.slice(5)).origin : new URL(url).origin;
    if (own === new URL(origin).origin) return route.continue();
    problems.foreign.push(url);
    return route.abort('blockedbyclient');
  });
  const page = await context.newPage();
  page.on('console', (message) => {
    const text = message.text();
    if (/Content[- ]Security[- ]Policy|Refused to/i.test(text)) problems.csp.push(text);
    else if (message.type() === 'error') problems.errors.push(text);
  });
  page.on('pageerror', (error) => problems.errors.push(String(error)));
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`Content-Security-Policy violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return { context, page, problems };
}
