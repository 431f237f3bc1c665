// Keystroke latency benchmark (not a test): types 200 keystrokes into the page in headless
// Chromium and prints p50/p95 of the time from the input event to the finished draw, as the
// page itself measures it (performance.measure 'attnviz:keystroke': the input event's
// timeStamp to the end of the run + draw in the next animation frame).
//
//   node bench/keystrokes.mjs [--model=<manifest id>] [--keys=200]
// Needs the built site in build/wasm/web and Chromium (/usr/bin/chromium or $CHROMIUM).
import { launch, openPage } from '../tests/e2e/browser.mjs';
import { serve } from '../tests/e2e/server.mjs';

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const keys = Number(args.keys || 200);
const model = args.model || '';

const server = await serve();
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
  const samples = await page.evaluate(() => performance.getEntriesByName('attnviz:keystroke').map((e) => e.duration));
  samples.sort((a, b) => a - b);
  const at = (q) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))];
  console.log(`model ${info.model} (${info.architecture}), ${samples.length} keystrokes, input event -> finished draw`);
  console.log(`p50 ${at(0.5).toFixed(2)} ms   p95 ${at(0.95).toFixed(2)} ms   max ${samples[samples.length - 1].toFixed(2)} ms`);
  if (problems.foreign.length || problems.errors.length) console.error('problems:', problems);
} finally {
  await chromium.close();
  await server.close();
}
