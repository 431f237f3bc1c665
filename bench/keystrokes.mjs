// Keystroke latency benchmark (not a test): types 200 keystrokes into the page in headless
// Chromium and prints p50/p95 of the time from the input event to the finished draw, as the
// page itself measures it (performance.measure 'attnviz:keystroke': the input event's
// timeStamp to the end of the run + draw of the heatmap and the layers x heads grid, done in
// the input handler or, for events faster than frames, in the next animation frame). Beside
// it: the model run and the page's drawing, and the time until the browser has rendered the
// frame that shows it (which includes waiting for that frame).
//
//   node bench/keystrokes.mjs [--model=<manifest id>] [--keys=200] [--site=<folder>]
// Needs the built site in build/wasm/web (or --site, e.g. a copy of an older build to compare
// with in the same conditions) and Chromium (/usr/bin/chromium or $CHROMIUM).
import { launch, openPage } from '../tests/e2e/browser.mjs';
import { resolve } from 'node:path';
import { serve } from '../tests/e2e/server.mjs';

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const keys = Number(args.keys || 200);
const model = args.model || '';

const server = await (args.site ? serve(resolve(args.site)) : serve());
const chromium = await launch();
try {
  const { page, problems } = await openPage(chromium.browser, server.url, { width: 1280, height: 900 });
  await page.goto(`${server.url}?text=${model ? `&model=${encodeURIComponent(model)}` : ''}`);
  await page.waitForSelector('body[data-ready="1"]');
  const info = await page.evaluate(() => ({
    model: document.body.dataset.model,
    architecture: document.getElementById('model-card').dataset.architecture,
  }));
  // Letters every shipped model's tokenizer knows. The text grows to 8 characters, shrinks
  // back to 1 with Backspace and grows again, so every keystroke runs the model on a text of
  // realistic length that stays within max_len.
  const letters = 'abcdefgh';
  await page.focus('#text-input');
  await page.evaluate(() => performance.clearMeasures('attnviz:keystroke'));
  let length = 0;
  let growing = true;
  for (let i = 0; i < keys; i++) {
    const draws = await page.$eval('#heatmap', (c) => Number(c.dataset.draws));
    if (growing) {
      await page.keyboard.type(letters[length % letters.length]);
      length += 1;
      if (length === 8) growing = false;
    } else {
      await page.keyboard.press('Backspace');
      length -= 1;
      if (length === 1) growing = true;
    }
    await page.waitForFunction((n) => Number(document.getElementById('heatmap').dataset.draws) > n, draws);
  }
  // The page's own measures: 'attnviz:keystroke' (input event -> finished draw) and, for the
  // same keystrokes, 'attnviz:main-thread' (its detail splits the update into the model run
  // and the rest; it ends after the browser rendered the frame that shows the new picture).
  const { drawn, work } = await page.evaluate(() => ({
    drawn: performance.getEntriesByName('attnviz:keystroke').map((e) => ({ start: e.startTime, duration: e.duration })),
    work: performance.getEntriesByName('attnviz:main-thread').map((e) => ({ end: e.startTime + e.duration, ...e.detail })),
  }));
  const quantiles = (values) => {
    const sorted = [...values].sort((a, b) => a - b);
    const at = (q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    return `p50 ${at(0.5).toFixed(2)} ms   p95 ${at(0.95).toFixed(2)} ms   max ${sorted[sorted.length - 1].toFixed(2)} ms`;
  };
  console.log(`model ${info.model} (${info.architecture}), ${drawn.length} keystrokes`);
  console.log(`input event -> finished draw:       ${quantiles(drawn.map((d) => d.duration))}`);
  console.log(`  of which the model run:           ${quantiles(work.map((w) => w.run))}`);
  console.log(`  the page's drawing (update - run): ${quantiles(work.map((w) => w.frame - w.run))}`);
  if (work.length === drawn.length) {
    // Each keystroke here is one update; its frame is on screen once the browser has rendered it.
    console.log(`input event -> frame rendered:      ${quantiles(drawn.map((d, i) => work[i].end - d.start))}`);
  }
  if (problems.foreign.length || problems.errors.length) console.error('problems:', problems);
} finally {
  await chromium.close();
  await server.close();
}
