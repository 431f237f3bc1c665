// End-to-end tests of embedding: the <attn-view> custom element (several on one page sharing
// one engine), the iframe's postMessage API (web/examples/iframe-host.html drives it), and the
// single-file offline build opened from file:// with no server.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { SITE } from './server.mjs';
import { ARTIFACTS, assertClean, useSite } from './site.mjs';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const site = useSite({ requires: ['attn-view.js'] });

// The embedding examples have no page-wide ready flag: each test waits for what it embeds.
const openAt = (path, viewport = { width: 900, height: 900 }) => site.open(path, { viewport, ready: false });

test('<attn-view>: three live views of different models on one page share one engine', async () => {
  const { page, problems } = await openAt('examples/three-views.html');
  await page.waitForFunction(() => document.querySelectorAll('attn-view[data-ready="1"]').length === 3, null, { timeout: 20000 });
  const status = await page.evaluate(async () => (await import('/attnviz.js')).engineStatus());
  assert.equal(status.generation, 1, 'one engine instance');
  assert.equal(status.models, 3, 'one model handle per element');
  const s2s = await page.$eval('#view-s2s', (e) => ({ ...e.current, matrix: null }));
  assert.equal(s2s.kind, 'cross');
  assert.equal(s2s.layer, 3);
  assert.equal(s2s.output, 'oveglay');
  assert.deepEqual(s2s.colTokens.slice(0, 5), ['g', 'l', 'o', 'v', 'e']);
  assert.equal(await page.$eval('#view-lm', (e) => e.current.view), 'head');
  assert.ok(await page.$eval('#view-lm', (e) => Number(e.shadowRoot.querySelector('.head-canvas').dataset.lines)) > 0);
  assert.equal(await page.$eval('#view-induction', (e) => e.current.view), 'rollout');
  await page.screenshot({ path: new URL('three-views.png', ARTIFACTS).pathname, fullPage: true });
  assertClean(problems);
});

test('<attn-view>: two instances of one model stay independent; attributes and typing are live', async () => {
  const { page, problems } = await openAt('examples/three-views.html');
  await page.waitForFunction(() => document.querySelectorAll('attn-view[data-ready="1"]').length === 3, null, { timeout: 20000 });
  await page.evaluate(() => {
    const second = document.createElement('attn-view');
    second.id = 'second';
    second.setAttribute('model', '../weights/piglatin.weights.json');
    second.setAttribute('text', 'world');
    second.setAttribute('kind', 'enc');
    document.body.append(second);
  });
  await page.waitForSelector('#second[data-ready="1"]');
  const first = await page.$eval('#view-s2s', (e) => e.current.srcTokens.join(''));
  const second = await page.$eval('#second', (e) => e.current.srcTokens.join(''));
  assert.match(first, /^glove/);
  assert.match(second, /^world/);
  // Redrawing the first after the second ran still shows the first's own text.
  const update = page.evaluate(() => new Promise((done) => document.getElementById('view-s2s').addEventListener('attn-view-update', (e) => done(e.detail.colTokens.join('')), { once: true })));
  await page.$eval('#view-s2s', (e) => e.setAttribute('head', 'avg'));
  assert.match(await update, /^glove/);
  assert.equal(await page.$eval('#view-s2s', (e) => e.current.head), 'avg');
  // Typing in an editable view re-runs it.
  const input = page.locator('#view-lm').locator('input');
  await input.fill('may the first twenty twenty two');
  await page.waitForFunction(() => document.getElementById('view-lm').current.srcTokens.join(' ').startsWith('may the first'));
  assert.equal((await page.evaluate(async () => (await import('/attnviz.js')).engineStatus())).generation, 1);
  assertClean(problems);
});

test('postMessage: the host sets text, view and model, and receives attention and output', async () => {
  const { page, problems } = await openAt('examples/iframe-host.html', { width: 1000, height: 1000 });
  const lastState = () => page.evaluate(() => window.received.filter((m) => m.type === 'attnviz:state').at(-1));
  await page.waitForFunction(() => window.received?.some((m) => m.type === 'attnviz:state'), null, { timeout: 20000 });
  assert.ok(await page.evaluate(() => window.received.some((m) => m.type === 'attnviz:ready')));
  let state = await lastState();
  assert.equal(state.model, 'piglatin');
  assert.equal(state.text, 'glove');
  assert.equal(state.attention.length, state.rows);
  assert.equal(state.attention[0].length, state.cols);
  assert.ok(typeof state.output === 'string');

  await page.fill('#host-text', 'world');
  await page.click('#host-send');
  await page.waitForFunction(() => window.received.filter((m) => m.type === 'attnviz:state').at(-1).text === 'world');
  await page.click('#host-cross');
  await page.waitForFunction(() => window.received.filter((m) => m.type === 'attnviz:state').at(-1).kind === 'cross');
  state = await lastState();
  assert.deepEqual([state.kind, state.layer, state.head], ['cross', 2, 'avg']);
  assert.deepEqual(state.colTokens.slice(0, 5), ['w', 'o', 'r', 'l', 'd']);
  const sum = state.attention[0].reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - 1) < 1e-4, `a row of cross-attention sums to 1 (${sum})`);

  await page.click('#host-lm');
  await page.waitForFunction(() => window.received.filter((m) => m.type === 'attnviz:state').at(-1).model === 'induction-lm', null, { timeout: 20000 });
  state = await lastState();
  assert.equal(state.text, 'the quick brown fox jumps the quick brown');
  assert.equal(state.kind, 'enc');
  // A bad request is answered with an error, not silence.
  await page.evaluate(() => document.getElementById('attnviz').contentWindow.postMessage({ type: 'attnviz:set', kind: 'sideways' }, location.origin));
  await page.waitForFunction(() => window.received.some((m) => m.type === 'attnviz:error'));
  assert.match(await page.evaluate(() => window.received.find((m) => m.type === 'attnviz:error').message), /unknown kind/);
  await page.screenshot({ path: new URL('iframe-host.png', ARTIFACTS).pathname, fullPage: true });
  assertClean(problems);
});

test('postMessage: a window that is not the embedding parent is ignored', async () => {
  const { page, problems } = await openAt('?model=s2s-seed-small&text=hello');
  await page.waitForSelector('body[data-ready="1"]', { timeout: 20000 });
  await page.evaluate(() => window.postMessage({ type: 'attnviz:set', text: 'world' }, '*'));
  await page.waitForTimeout(300);
  assert.equal(await page.inputValue('#text-input'), 'hello');
  assertClean(problems);
});

test('single-file build: one HTML file that works from file:// with no server', async () => {
  const out = fileURLToPath(new URL('attnviz-single.html', ARTIFACTS));
  execFileSync('python3', [`${ROOT}tools/build_single_file.py`, '--site', SITE, '--model', 'copy', '--out', out], { stdio: 'pipe' });
  const context = site.track(await site.chromium.browser.newContext({ viewport: { width: 1280, height: 900 } }));
  const page = await context.newPage();
  const errors = [];
  const requests = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('request', (r) => requests.push(r.url()));
  await page.goto(`file://${out}`);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 20000 });
  assert.equal(await page.$eval('#heatmap', (c) => Number(c.dataset.rows)) > 0, true);
  await page.fill('#text-input', 'world');
  await page.waitForFunction(() => JSON.parse(document.getElementById('heatmap').dataset.colTokens)[0] === 'w');
  assert.ok((await page.textContent('#output-text')).length > 0);
  await page.click('#tab-rollout');
  await page.waitForSelector('[data-panel="rollout-main"] canvas[data-draws]');
  assert.deepEqual(requests.filter((u) => !u.startsWith('file:') && !u.startsWith('data:') && !u.startsWith('blob:')), [], 'no network');
  assert.deepEqual(requests.filter((u) => u.startsWith('file:') && !u.endsWith('attnviz-single.html')), [], 'no other file read');
  assert.deepEqual(errors, []);
  await page.screenshot({ path: new URL('single-file.png', ARTIFACTS).pathname });
});
