// End-to-end tests of the analysis views (web/js/views-panel.js) in headless Chromium, served
// with the strict CSP: head view, rollout, inside one head, value-weighted, compare, and live
// head ablation. Assumes the site is built in build/wasm/web.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { ARTIFACTS, assertClean, dropFile, useSite } from './site.mjs';

const site = useSite();

const panel = (page, name) => page.$eval(`[data-panel="${name}"] canvas`, (c) => ({
  rows: Number(c.dataset.rows), cols: Number(c.dataset.cols), draws: Number(c.dataset.draws), masked: Number(c.dataset.masked),
  hash: (() => {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let h = 0;
    for (let i = 0; i < d.length; i += 4) h = (h * 31 + d[i] + d[i + 1] * 7 + d[i + 2] * 13) | 0;
    return h;
  })(),
}));

async function openTab(page, id) {
  await page.click(`#tab-${id}`);
  await page.waitForFunction((t) => document.getElementById('views-panel').dataset.tab === t, id);
  await page.waitForTimeout(150);
}

test('head view: lines per weight, hover isolates a token, all heads in colour', async () => {
  const { page, problems } = await site.open('?model=s2s-seed-small&text=hello&pad=0');
  await openTab(page, 'head');
  const lines = () => page.$eval('.head-canvas', (c) => Number(c.dataset.lines));
  const all = await lines();
  assert.ok(all > 20, `lines drawn: ${all}`);
  const box = await page.$eval('.head-canvas', (c) => { const b = c.getBoundingClientRect(); return { x: b.left, y: b.top, w: b.width }; });
  await page.mouse.move(box.x + box.w * 0.3 - 20, box.y + 20 + 10);  // the first query token
  await page.waitForTimeout(100);
  const one = await lines();
  assert.ok(one > 0 && one < all, `hover keeps one token's lines (${one} of ${all})`);
  assert.match(await page.$eval('.head-view .mpanel-readout', (e) => e.textContent), /query “h”: strongest keys/);
  await page.check('#head-view-all');
  await page.waitForTimeout(150);
  assert.equal(await page.$$eval('.head-chip', (c) => c.length), 8);
  await page.locator('#views-panel').screenshot({ path: new URL('view-head.png', ARTIFACTS).pathname });
  assertClean(problems);
});

test('rollout: output -> source for seq2seq, through the chosen layer for a causal LM', async () => {
  const { page, problems } = await site.open('?model=s2s-seed-small&text=hello&pad=0');
  await openTab(page, 'rollout');
  const tokens = await page.$eval('#heatmap', (c) => JSON.parse(c.dataset.colTokens));
  const main = await panel(page, 'rollout-main');
  assert.equal(main.cols, tokens.length, 'columns: the visible source tokens');
  assert.ok(main.rows > 1);
  assert.equal((await panel(page, 'rollout-side')).rows, tokens.length);
  await page.locator('#views-panel').screenshot({ path: new URL('view-rollout.png', ARTIFACTS).pathname });

  const lm = await site.open('?model=lm-learned-h1&text=a%20bad%20cafe');
  await openTab(lm.page, 'rollout');
  assert.match(await lm.page.textContent('#view-rollout'), /Rollout through layer 1 of 3/);
  const first = await panel(lm.page, 'rollout-main');
  await lm.page.selectOption('#layer-select', '2');
  await lm.page.waitForFunction(() => /layer 3 of 3/.test(document.getElementById('view-rollout').textContent));
  assert.notEqual((await panel(lm.page, 'rollout-main')).hash, first.hash, 'rollout through 3 layers differs from 1');
  assertClean(problems);
  assertClean(lm.problems);
});

test('a text past the capture limit: one layer recorded and said so, another layer re-run when picked, every layer on request', async () => {
  const { page, problems } = await site.open('?model=s2s-seed-small&text=ab');
  // A small LM whose 2 layers x 2 heads at 2100 tokens (17.6 M floats) pass the 8 M-float limit.
  const weights = JSON.parse(readFileSync(new URL('../fixtures/lm_sinusoidal_nobias_h2.weights.json', import.meta.url), 'utf8'));
  weights.config.max_len = 2100;
  await dropFile(page, 'long.json', JSON.stringify(weights));
  await page.waitForFunction(() => document.body.dataset.model === 'file');
  await page.fill('#text-input', '1+2='.repeat(525).slice(0, 2099));
  const notice = /attention recorded for layer (\d) of 2 only \(every layer would take 67\.2 MiB, over the capture limit of 32\.0 MiB\)/;
  await page.waitForFunction((source) => new RegExp(source).test(document.getElementById('notices').textContent), notice.source);
  assert.equal((await page.textContent('#notices')).match(notice)[1], '1');  // counted from 1, as shown
  assert.equal(await page.$$eval('#head-grid .thumb.unrecorded', (t) => t.map((b) => b.dataset.layer).join()), '1,1,1');

  await page.selectOption('#layer-select', '1');  // the second layer: run again, keeping that one
  await page.waitForFunction(() => /layer 2 of 2 only/.test(document.getElementById('notices').textContent));
  assert.equal(await page.$eval('#heatmap', (c) => c.dataset.layer), '1');
  assert.equal(await page.$$eval('#head-grid .thumb.unrecorded', (t) => t.map((b) => b.dataset.layer).join()), '0,0,0');

  await openTab(page, 'rollout');
  assert.match(await page.textContent('#view-rollout'), /recorded one layer of each kind only/);
  await page.click('#view-rollout .capture-all');
  await page.waitForFunction(() => /Rollout through layer 2 of 2/.test(document.getElementById('view-rollout').textContent));
  assert.doesNotMatch(await page.textContent('#notices'), /attention recorded for layer/);
  assert.equal(await page.$$eval('#head-grid .thumb.unrecorded', (t) => t.length), 0);
  assertClean(problems);
});

test('inside one head: scores with causal masks hatched, softmax at a display-only temperature', async () => {
  const { page, problems } = await site.open('?model=lm-learned-h1&text=a%20bad%20cafe');
  await openTab(page, 'inside');
  await page.waitForSelector('[data-panel="scores"] canvas[data-draws]');
  const scores = await panel(page, 'scores');
  const n = scores.rows;
  assert.equal(scores.masked, (n * (n - 1)) / 2, 'the causal mask: every entry above the diagonal');
  assert.match(await page.textContent('#view-inside'), /Display only/);
  const before = await panel(page, 'softmax');
  const output = await page.textContent('#output-text');
  await page.fill('#temperature', '90');
  await page.waitForFunction(() => Number(document.getElementById('view-inside').dataset.temperature) > 5);
  const hot = await panel(page, 'softmax');
  assert.notEqual(hot.hash, before.hash, 'a higher temperature flattens the pattern');
  assert.equal(await page.textContent('#output-text'), output, 'the temperature does not change the model');
  await page.locator('#views-panel').screenshot({ path: new URL('view-inside.png', ARTIFACTS).pathname });
  assertClean(problems);
});

test('value-weighted view: a_ij * ||v_j|| beside the weights, and the norms per key', async () => {
  const { page, problems } = await site.open('?model=s2s-seed-small&text=hello&kind=cross&layer=2&head=3');
  await openTab(page, 'value');
  await page.waitForSelector('[data-panel="value-norms"] canvas[data-draws]');
  const raw = await panel(page, 'raw');
  const weighted = await panel(page, 'value-weighted');
  const norms = await panel(page, 'value-norms');
  assert.deepEqual([weighted.rows, weighted.cols], [raw.rows, raw.cols]);
  assert.equal(norms.rows, 1);
  assert.equal(norms.cols, raw.cols);
  assert.notEqual(weighted.hash, raw.hash);
  await page.locator('#views-panel').screenshot({ path: new URL('view-value.png', ARTIFACTS).pathname });
  assertClean(problems);
});

test('head ablation: a click changes the output and heatmaps at once, marked, and reset restores them', async () => {
  const { page, problems } = await site.open('?model=lm-learned-h1&text=abcab');
  const plainOutput = await page.textContent('#output-text');
  const heatmapDraws = await page.$eval('#heatmap', (c) => Number(c.dataset.draws));
  // Every head of every layer zeroed: the continuation must change.
  const buttons = await page.$$('#ablate-grid .ablate-head');
  assert.equal(buttons.length, 3);
  for (const b of buttons) await b.click();
  await page.waitForFunction(() => document.body.dataset.ablated === '3');
  await page.waitForTimeout(150);
  assert.notEqual(await page.textContent('#output-text'), plainOutput, 'the output of the ablated model');
  assert.ok(await page.$eval('#heatmap', (c) => Number(c.dataset.draws)) > heatmapDraws, 'the heatmap was redrawn');
  assert.equal(await page.isVisible('#ablation-banner'), true);
  assert.match(await page.textContent('#ablation-banner'), /Ablated \(3\)/);
  assert.equal(await page.$$eval('#head-grid .thumb.ablated', (t) => t.length), 3, 'the all-heads grid marks them');
  assert.equal(await page.$eval('#ablate-grid .ablate-head', (b) => b.dataset.mode), 'zero');
  await page.locator('body').screenshot({ path: new URL('view-ablated.png', ARTIFACTS).pathname });
  await page.click('#ablation-banner .ablate-reset');
  await page.waitForFunction(() => document.body.dataset.ablated === '0');
  await page.waitForTimeout(150);
  assert.equal(await page.textContent('#output-text'), plainOutput, 'reset gives back the plain model');
  assert.equal(await page.isVisible('#ablation-banner'), false);
  // Uniform mode: the attention of an ablated head is uniform over the allowed keys.
  await page.check('input[name="ablate-mode"][value="uniform"]');
  await page.click('#ablate-grid .ablate-head >> nth=0');
  await page.waitForFunction(() => document.body.dataset.ablated === '1');
  assert.equal(await page.$eval('#ablate-grid .ablate-head', (b) => b.dataset.mode), 'uniform');
  assertClean(problems);
});

test('compare: a second input side by side with the difference', async () => {
  const { page, problems } = await site.open('?model=s2s-seed-small&text=hello');
  await openTab(page, 'compare');
  await page.waitForSelector('[data-panel="compare-diff"] canvas[data-draws]', { timeout: 10000 });
  assert.match(await page.textContent('#view-compare'), /Same tokens/);
  await page.fill('#compare-text', 'world');
  await page.waitForFunction(() => /The inputs differ/.test(document.getElementById('view-compare').textContent));
  const diff = await panel(page, 'compare-diff');
  assert.ok(diff.rows > 0 && diff.cols > 0);
  assert.match(await page.textContent('[data-panel="compare-b"] figcaption'), /B \(/);
  await page.selectOption('#compare-model', 'lm-learned-h1');
  await page.waitForFunction(() => /lm|Causal/i.test(document.getElementById('view-compare').textContent) && /has no|B:/.test(document.getElementById('view-compare').textContent), null, { timeout: 10000 });
  await page.locator('#views-panel').screenshot({ path: new URL('view-compare.png', ARTIFACTS).pathname });
  assertClean(problems);
});
