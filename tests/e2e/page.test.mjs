// End-to-end tests of the page (web/) in real headless Chromium, served with the strict CSP.
// They assume the site is built in build/wasm/web (scripts/test builds it first).
// Every page is watched: a request outside its origin, a CSP violation or a page error fails.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { CSP } from './server.mjs';
import { ARTIFACTS, assertClean, dropFile, useSite } from './site.mjs';

const FIXTURES = new URL('../fixtures/', import.meta.url);

const site = useSite({ requires: ['index.html', 'attnviz_core.wasm'] });

const canvasInfo = (page) => page.$eval('#heatmap', (c) => ({
  rows: Number(c.dataset.rows),
  cols: Number(c.dataset.cols),
  draws: Number(c.dataset.draws),
  kind: c.dataset.kind,
  layer: Number(c.dataset.layer),
  head: Number(c.dataset.head),
  rowTokens: JSON.parse(c.dataset.rowTokens),
  colTokens: JSON.parse(c.dataset.colTokens),
}));

/**
 * Painted pixels and distinct colours of a canvas's backing store: of the matrix area for the
 * heatmap (data-matrix: x y width height in CSS px), of the whole canvas otherwise.
 */
// The pixels of one thumbnail: the part of the grid's one canvas inside that button's padding.
const thumbnailPixels = (page, selector) => page.$eval(selector, (button) => {
  const canvas = button.parentElement.querySelector('canvas');
  const scale = canvas.width / canvas.getBoundingClientRect().width;
  const b = button.getBoundingClientRect();
  const c = canvas.getBoundingClientRect();
  const box = [b.left - c.left + 4, b.top - c.top + 4, b.width - 8, b.height - 8].map((v) => Math.round(v * scale));
  const data = canvas.getContext('2d').getImageData(...box).data;
  let painted = 0;
  const colours = new Set();
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] === 0) continue;
    painted += 1;
    colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
  }
  return { painted, total: box[2] * box[3], colours: colours.size };
});

const canvasPixels = (page, selector = '#heatmap') => page.$eval(selector, (c) => {
  const scale = c.width / c.getBoundingClientRect().width;
  const [x, y, w, h] = c.dataset.matrix ? c.dataset.matrix.split(' ').map((v) => Number(v) * scale) : [0, 0, c.width, c.height];
  const box = [Math.ceil(x), Math.ceil(y), Math.floor(w) - 1, Math.floor(h) - 1];
  const data = c.getContext('2d').getImageData(...box).data;
  let painted = 0;
  const colours = new Set();
  let hash = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] === 0) continue;
    painted += 1;
    const key = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
    colours.add(key);
    hash = (hash * 31 + key) | 0;
  }
  return { painted, total: box[2] * box[3], colours: colours.size, hash };
});

async function waitForDraw(page, previousDraws) {
  await page.waitForFunction((n) => Number(document.getElementById('heatmap').dataset.draws) > n, previousDraws);
}

/** Changes a <select> or check box and waits for the heatmap to be redrawn. */
async function setAndDraw(page, selector, value) {
  const { draws } = await canvasInfo(page);
  if (value === true) await page.check(selector);
  else if (value === false) await page.uncheck(selector);
  else await page.selectOption(selector, value);
  await waitForDraw(page, draws);
}

async function typeAndCheck(page, chars, expectedTokens) {
  for (const ch of chars) {
    const { draws } = await canvasInfo(page);
    await page.keyboard.type(ch);
    await waitForDraw(page, draws);
  }
  const info = await canvasInfo(page);
  assert.deepEqual(info.colTokens, expectedTokens);
  assert.equal(info.cols, expectedTokens.length);
  const pixels = await canvasPixels(page);
  assert.ok(pixels.painted > pixels.total * 0.98, `too few painted pixels: ${pixels.painted} of ${pixels.total}`);
  assert.ok(pixels.colours >= 2, `the heatmap is one flat colour`);
  return info;
}

describe('attnviz page in headless Chromium', () => {
  test('is served with the strict CSP and runs under it, with nothing leaving the origin', async () => {
    const { page, problems, response } = await site.open();
    assert.equal(response.headers()['content-security-policy'], CSP);
    // The policy is in force: an inline script is refused (and reported), yet the page runs.
    await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'window.inlineScriptRan = true';
      document.head.appendChild(script);
    });
    await page.waitForTimeout(100);
    assert.equal(await page.evaluate(() => window.inlineScriptRan), undefined, 'the CSP must refuse inline scripts');
    assert.ok(problems.csp.some((m) => /script-src/.test(m)), 'the refusal was reported');
    problems.csp.length = 0;
    assert.equal(await page.$eval('body', (b) => b.dataset.model), 's2s-seed-small');
    assert.equal(await page.inputValue('#text-input'), 'hello');
    assert.notEqual((await page.textContent('#output-text')).trim(), '');
    const requested = site.server.requests.filter((p) => p.endsWith('.wasm') || p.endsWith('manifest.json'));
    assert.ok(requested.length >= 2, 'the engine and the manifest come from the same server');
    assertClean(problems);
  });

  test('the shipped default, Pig Latin, turns "glove" into "oveglay" and shows its cross-attention', async () => {
    const shipped = JSON.parse(readFileSync(new URL('../../weights/manifest.json', import.meta.url), 'utf8'));
    assert.equal(shipped.find((m) => m.default).id, 'piglatin');
    const { page, problems } = await site.open('?model=piglatin&text=glove&kind=cross&layer=3');
    assert.equal((await page.textContent('#output-text')).trim(), 'oveglay');
    const info = await canvasInfo(page);
    assert.deepEqual(info.colTokens, ['g', 'l', 'o', 'v', 'e', '<eos>']);
    assert.equal(info.rows, 8);  // <bos> o v e g l a y
    await page.fill('#text-input', 'apple');
    await page.waitForFunction(() => document.getElementById('output-text').textContent.trim() === 'appleyay');
    await page.screenshot({ path: new URL('piglatin.png', ARTIFACTS).pathname, fullPage: true });
    assertClean(problems);
  });

  test('typing redraws the heatmap with one row and column per token (seq2seq, padding hidden)', async () => {
    const { page, problems } = await site.open();
    await setAndDraw(page, '#padding-check', false);
    await page.fill('#text-input', '');
    await page.fill('#text-input', 'h');
    await page.focus('#text-input');
    await page.press('#text-input', 'End');
    const info = await typeAndCheck(page, 'ey', ['h', 'e', 'y', '<eos>']);
    assert.equal(info.rows, 4, 'encoder self-attention: one row per source token');
    assert.match(await page.textContent('#latency'), /last keystroke \d+\.\d ms/);
    assertClean(problems);
  });

  test('typing redraws the heatmap for a causal LM, one row and column per token', async () => {
    const { page, problems } = await site.open('?model=lm-learned-h1&text=');
    await page.focus('#text-input');
    const info = await typeAndCheck(page, 'bad', ['<bos>', 'b', 'a', 'd']);
    assert.equal(info.rows, 4);
    assert.equal(await page.$eval('#kind-select', (s) => s.options.length), 1);
    assertClean(problems);
  });

  test('switches kind, layer, head and opens a head from the model view', async () => {
    const { page, problems } = await site.open('?text=pig&pad=0');
    const before = await canvasPixels(page);

    await setAndDraw(page, '#kind-select', 'cross');
    let info = await canvasInfo(page);
    assert.equal(info.kind, 'cross');
    assert.deepEqual(info.colTokens, ['p', 'i', 'g', '<eos>'], 'cross-attention keys are the source tokens');
    assert.equal(info.rowTokens[0], '<bos>', 'cross-attention queries are the decoder inputs');
    assert.equal(info.rows, info.rowTokens.length);

    await setAndDraw(page, '#kind-select', 'decoderSelf');
    info = await canvasInfo(page);
    assert.equal(info.kind, 'decoderSelf');
    assert.equal(info.rows, info.cols);

    await setAndDraw(page, '#layer-select', '1');
    assert.equal((await canvasInfo(page)).layer, 1);
    await setAndDraw(page, '#head-select', '-1');
    assert.equal((await canvasInfo(page)).head, -1);
    assert.match(await page.textContent('#heatmap-title'), /layer 2 · average of the heads/);
    const afterSwitch = await canvasPixels(page);
    assert.notEqual(afterSwitch.hash, before.hash, 'the heatmap changed');

    // Model view: 2 layers x (8 heads + average) thumbnails, all painted; clicking one opens it.
    assert.equal(await page.$$eval('#head-grid .thumb', (t) => t.length), 18);
    const thumbPixels = await thumbnailPixels(page, '#head-grid .thumb[data-layer="0"][data-head="2"]');
    assert.ok(thumbPixels.colours > 4, 'the thumbnail is drawn');
    assert.ok(thumbPixels.painted > thumbPixels.total * 0.4, 'the picture fills its button');
    assert.equal(await page.$$eval('#head-grid canvas', (c) => c.length), 1, 'one canvas for the whole grid');
    const { draws } = await canvasInfo(page);
    await page.click('#head-grid .thumb[data-layer="0"][data-head="2"]');
    await waitForDraw(page, draws);
    info = await canvasInfo(page);
    assert.equal(info.layer, 0);
    assert.equal(info.head, 2);
    assert.equal(await page.inputValue('#head-select'), '2');
    assert.equal(await page.getAttribute('#head-grid .thumb[data-layer="0"][data-head="2"]', 'aria-pressed'), 'true');

    await setAndDraw(page, '#grid-check', false);
    assert.equal(await page.isVisible('#grid-panel'), false);
    await setAndDraw(page, '#grid-check', true);
    assert.equal(await page.isVisible('#grid-panel'), true);

    // The decode scrubber moves the highlighted decoder step.
    await setAndDraw(page, '#kind-select', 'cross');
    await page.focus('#step-range');
    const drawsBefore = (await canvasInfo(page)).draws;
    await page.keyboard.press('ArrowRight');
    await waitForDraw(page, drawsBefore);
    assert.match(await page.textContent('#step-label'), /^step 2 \//);
    assert.equal(await page.$eval('#step-strip', (c) => c.dataset.cols), '4');
    assertClean(problems);
  });

  test('a malformed dropped file shows a clear message and the current model keeps working', async () => {
    const { page, problems } = await site.open('?text=ab&pad=0');

    await dropFile(page, 'broken.json', '{"format": "attnviz-weights", "version": 1, "config": {');
    await page.waitForSelector('#load-error:not([hidden])');
    const message = await page.textContent('#load-error');
    assert.match(message, /Could not load “broken\.json”/);
    assert.match(message, /not valid JSON/);
    assert.match(message, /current model .* is still loaded/);
    assert.equal(await page.$eval('body', (b) => b.dataset.model), 's2s-seed-small');

    await dropFile(page, 'wrong.json', '{"format": "something-else"}');
    await page.waitForFunction(() => document.getElementById('load-error').textContent.includes('wrong.json'));
    assert.match(await page.textContent('#load-error'), /format/);

    // The old model still runs as the user types.
    await page.focus('#text-input');
    await page.press('#text-input', 'End');
    await typeAndCheck(page, 'c', ['a', 'b', 'c', '<eos>']);

    // A good file through the file picker replaces the model and clears the message.
    await page.setInputFiles('#file-input', {
      name: 'my-lm.json', mimeType: 'application/json',
      buffer: readFileSync(new URL('lm_learned_h1.weights.json', FIXTURES)),
    });
    await page.waitForFunction(() => document.body.dataset.model === 'file');
    assert.equal(await page.isVisible('#load-error'), false);
    assert.equal(await page.$eval('body', (b) => b.dataset.architecture), 'causal_lm');
    assert.match(await page.textContent('#model-card'), /causal LM/);
    assert.match(await page.inputValue('#model-select'), /^$/);
    assertClean(problems);
  });

  test('URL state round trip: model, text, kind, layer, head and view options', async () => {
    const query = '?model=s2s-seed-small&text=abc&kind=cross&layer=2&head=avg&cmap=magma&scale=row&log=1&pad=0&step=2';
    const first = await site.open(query);
    const read = (page) => page.evaluate(() => ({
      model: document.body.dataset.model,
      text: document.getElementById('text-input').value,
      kind: document.getElementById('kind-select').value,
      layer: document.getElementById('layer-select').value,
      head: document.getElementById('head-select').value,
      cmap: document.getElementById('colormap-select').value,
      scale: document.getElementById('scale-select').value,
      log: document.getElementById('log-check').checked,
      pad: document.getElementById('padding-check').checked,
      step: document.getElementById('step-range').value,
      cols: document.getElementById('heatmap').dataset.cols,
    }));
    assert.deepEqual(await read(first.page), {
      model: 's2s-seed-small', text: 'abc', kind: 'cross', layer: '1', head: '-1', cmap: 'magma',
      scale: 'row', log: true, pad: false, step: '1', cols: '4',
    });

    // Change state in the page, then open its URL afresh.
    await first.page.selectOption('#kind-select', 'encoderSelf');
    await first.page.selectOption('#layer-select', '0');
    await first.page.selectOption('#head-select', '4');
    await first.page.selectOption('#colormap-select', 'plasma');
    await first.page.selectOption('#scale-select', 'global');
    await first.page.uncheck('#log-check');
    await first.page.focus('#text-input');
    await first.page.press('#text-input', 'End');
    await first.page.keyboard.type('d');
    await first.page.waitForFunction(() => location.search.includes('text=abcd') && location.search.includes('cmap=plasma'));
    const url = first.page.url();

    const second = await site.open(new URL(url).search);
    assert.deepEqual(await read(second.page), {
      model: 's2s-seed-small', text: 'abcd', kind: 'encoderSelf', layer: '0', head: '4', cmap: 'plasma',
      scale: 'global', log: false, pad: false, step: '1', cols: '5',
    });
    assertClean(first.problems);
    assertClean(second.problems);
  });

  test('embed mode has minimal chrome, and the embed snippet opens it', async () => {
    const { page, problems } = await site.open('?text=cat');
    await page.click('#copy-embed');
    const snippet = await page.inputValue('#embed-snippet');
    assert.match(snippet, /^<iframe src="http:\/\/127\.0\.0\.1:\d+\/\?[^"]*embed=1[^"]*"/);
    const src = snippet.match(/src="([^"]+)"/)[1].replace(/&amp;/g, '&');

    const embedded = await site.open(new URL(src).search, { viewport: { width: 720, height: 640 } });
    assert.equal(await embedded.page.$eval('body', (b) => b.classList.contains('embed')), true);
    for (const hidden of ['.app-header', '#grid-panel', '#model-card', '#export-png']) {
      assert.equal(await embedded.page.isVisible(hidden), false, `${hidden} is hidden in embed mode`);
    }
    assert.equal(await embedded.page.inputValue('#text-input'), 'cat');
    assert.ok((await canvasPixels(embedded.page)).colours > 8);
    assert.equal(await embedded.page.isVisible('#open-full'), true);
    await embedded.page.screenshot({ path: new URL('embed.png', ARTIFACTS).pathname });
    assertClean(problems);
    assertClean(embedded.problems);
  });

  test('keyboard: arrow keys move a focus cell and announce its weight', async () => {
    const { page, problems } = await site.open('?text=abc&pad=0');
    await page.focus('#heatmap');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowDown');
    const readout = await page.textContent('#readout');
    assert.match(readout, /query “b” \(row 2\) → key “c” \(column 3\): weight 0?\.\d+/);
    assert.equal(await page.getAttribute('#readout', 'aria-live'), 'polite');
    await page.keyboard.press('End');
    assert.match(await page.textContent('#readout'), /key “<eos>” \(column 4\)/);
    // Every control is reachable with Tab.
    const reachable = await page.evaluate(() => Array.from(document.querySelectorAll('select, input:not([type="file"]), button, canvas#heatmap'))
      .filter((e) => e.offsetParent !== null && e.tabIndex < 0).map((e) => e.id || e.className));
    assert.deepEqual(reachable, [], 'controls taken out of the tab order');
    assertClean(problems);
  });

  test('exports PNG, CSV and JSON of the current view', async () => {
    const { page, problems } = await site.open('?text=ab&kind=cross');
    const save = async (button) => {
      const [download] = await Promise.all([page.waitForEvent('download'), page.click(button)]);
      return { name: download.suggestedFilename(), bytes: readFileSync(await download.path()) };
    };
    const info = await canvasInfo(page);
    const csv = await save('#export-csv');
    assert.match(csv.name, /\.csv$/);
    const lines = csv.bytes.toString('utf8').trim().split('\n');
    assert.equal(lines.length, info.rows + 1);
    assert.equal(lines[0], `query \\ key,a,b,<eos>${',<pad>'.repeat(info.cols - 3)}`);
    assert.equal(lines[1].split(',').length, info.cols + 1);
    const rowSum = lines[1].split(',').slice(1).map(Number).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(rowSum - 1) < 1e-4, `a row of attention sums to 1 (got ${rowSum})`);

    const json = JSON.parse((await save('#export-json')).bytes.toString('utf8'));
    assert.equal(json.kind, 'cross');
    assert.equal(json.matrix.length, info.rows);
    assert.equal(json.matrix[0].length, info.cols);
    const all = json.all_heads;
    assert.equal(all.data.length, all.recorded_layers * all.heads * all.rows * all.cols);
    assert.equal(all.recorded_layers, all.layers);

    const png = await save('#export-png');
    assert.deepEqual([...png.bytes.subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
    assertClean(problems);
  });

  test('usable at 360 px wide, and screenshots for the record', async () => {
    const wide = await site.open('?text=hello');
    await wide.page.hover('#heatmap', { position: { x: 160, y: 120 } });
    await wide.page.screenshot({ path: new URL('page.png', ARTIFACTS).pathname, fullPage: true });

    const narrow = await site.open('?text=hello', { viewport: { width: 360, height: 780 } });
    const overflow = await narrow.page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow} px wider than a 360 px screen`);
    const box = await narrow.page.$eval('#heatmap', (c) => c.getBoundingClientRect().right);
    assert.ok(box <= 360, 'the heatmap fits the screen');
    await narrow.page.screenshot({ path: new URL('page-360.png', ARTIFACTS).pathname, fullPage: true });
    assertClean(wide.problems);
    assertClean(narrow.problems);
  });
});
