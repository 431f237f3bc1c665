// Reliability of the page (issue 5, browser parts) in headless Chromium: hostile text, a long
// session, an engine that aborts, and a dropped file that never leaves the machine.
// Each test prints its figures as a `# figures:` line (the README's Reliability section).
// Like page.test.mjs, every page is watched: a request outside the origin, a CSP violation
// or a page error fails the test.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { assertClean, dropFile, useSite } from './site.mjs';

const FIXTURES = new URL('../fixtures/', import.meta.url);
const FRAME_MS = 1000 / 60;
const BOX_LIMIT = 2000;  // the page's input box keeps this many characters of a paste (these models)

const site = useSite();

const figures = (name, values) => console.log(`# figures: ${name}: ${JSON.stringify(values)}`);
const mb = (bytes) => Number((bytes / 1048576).toFixed(2));

/** The wrapper's debug view of the engine, from inside the page (same module as the page's). */
const engineStatus = (page) => page.evaluate(async () => (await import('/attnviz.js')).engineStatus());

const heatmapState = (page) => page.$eval('#heatmap', (c) => ({
  draws: Number(c.dataset.draws),
  colTokens: JSON.parse(c.dataset.colTokens),
  stale: c.classList.contains('stale'),
}));

async function waitForDraw(page, previousDraws) {
  await page.waitForFunction((n) => Number(document.getElementById('heatmap').dataset.draws) > n, previousDraws);
}

// One event, as a paste: sets the input to the text staged in window.pasteText and fires one
// input event; resolves to the page's 'attnviz:main-thread' measure of the update that handled
// it (wall clock: its handler, the update minus model.run, and style/layout/paint of the frame
// that shows it), and what the page shows. pasteText null: no input, just one frame (the
// harness's own cost, for calibration).
const pasteInPage = (page) => page.evaluate(async () => {
  const value = window.pasteText;
  const input = document.getElementById('text-input');
  const detail = await new Promise((done) => {
    if (value === null) {
      requestAnimationFrame(() => {
        const channel = new MessageChannel();
        channel.port1.onmessage = () => done({ events: 0, input: 0, frame: 0, run: 0, render: 0, beyond: 0 });
        channel.port2.postMessage(0);
      });
      return;
    }
    const observer = new PerformanceObserver((list) => {
      const entry = list.getEntries().find((e) => e.name === 'attnviz:main-thread');
      if (!entry) return;
      observer.disconnect();
      done(entry.detail);
    });
    observer.observe({ type: 'measure' });
    input.value = value;
    input.dispatchEvent(new InputEvent('input', { bubbles: true, inputType: 'insertFromPaste' }));
  });
  const shown = (id) => {
    const node = document.getElementById(id);
    return node.hidden ? '' : node.textContent;
  };
  return {
    work: detail,
    notices: shown('notices'),
    error: shown('run-error'),
    empty: document.getElementById('heatmap').dataset.rows === '0',
    tokens: JSON.parse(document.getElementById('heatmap').dataset.colTokens),
    value: input.value.length,
  };
});

/**
 * pasteInPage, also measuring the main thread's CPU time over it (CDP Performance metrics in
 * thread ticks): robust to the other processes on a shared machine, which stretch wall time.
 * The text is handed to the page first, outside the measurement: passing a 200,000-character
 * argument through the protocol costs the page's thread milliseconds that are the harness's,
 * not the page's, and the calibration (a null text) could not subtract them.
 */
async function paste(page, cdp, text) {
  const cpu = async () => (await cdp.send('Performance.getMetrics')).metrics.find((m) => m.name === 'ThreadTime').value * 1000;
  await page.evaluate((value) => { window.pasteText = value; }, text);
  const before = await cpu();
  const shown = await pasteInPage(page);
  shown.cpu = (await cpu()) - before;
  return shown;
}

const TEN_THOUSAND = (pattern) => pattern.repeat(Math.ceil(10000 / pattern.length)).slice(0, 10000);

// name -> [text, what each model must show: 'notice' | 'unk' | 'error' | 'type' (the empty prompt)]
const HOSTILE = {
  'paste 10,000 a-z': [TEN_THOUSAND('thequickbrownfoxjumpsoverthelazydog'), { s2s: 'notice', lm: 'notice' }],
  'paste 10,000 mixed': [TEN_THOUSAND('Hello, wörld! 你好 😀 مرحبا e\u0301 '), { s2s: 'error', lm: 'notice' }],
  'paste 10,000 distinct CJK': [Array.from({ length: 10000 }, (_, i) => String.fromCodePoint(0x4e00 + i)).join(''), { s2s: 'error', lm: 'notice' }],
  'paste 200,000 chars': ['abcdefgh'.repeat(25000), { s2s: 'notice', lm: 'notice' }],
  emoji: ['bad 😀👍🏽🇩🇪 cafe', { s2s: 'error', lm: 'unk' }],
  CJK: ['你好世界', { s2s: 'error', lm: 'unk' }],
  'combining marks': ['cafe\u0301 a\u0308\u0323', { s2s: 'error', lm: 'unk' }],
  'right-to-left': ['שלום مرحبا', { s2s: 'error', lm: 'unk' }],
  'only spaces': ['      ', { s2s: 'type', lm: 'ok' }],
  empty: ['', { s2s: 'type', lm: 'type' }],
  'control characters': ['a\u0000b\u0007c\u001b\u007f\u200b\u202ed', { s2s: 'error', lm: 'unk' }],
  'lone surrogate': ['ab\ud800cd', { s2s: 'error', lm: 'unk' }],
};

describe('reliability of the page in headless Chromium', () => {
  test('hostile text: each input is handled visibly and costs under a frame beyond the model run', async () => {
    const results = {};
    let worst = { beyond: 0 };
    let worstWall = { beyond: 0 };
    let longTasks = [];
    for (const [model, query] of [['s2s', '?model=s2s-seed-small&text=ab'], ['lm', '?model=lm-learned-h1&text=ab']]) {
      const { page, problems, context } = await site.open(query);
      const cdp = await context.newCDPSession(page);
      await cdp.send('Performance.enable', { timeDomain: 'threadTicks' });
      await page.evaluate(() => {
        window.longTasks = [];
        new PerformanceObserver((list) => window.longTasks.push(...list.getEntries().map((e) => e.duration)))
          .observe({ type: 'longtask' });
      });
      // The harness's own CPU cost (two CDP calls, one evaluate, one frame), least of five.
      const harness = [];
      for (let i = 0; i < 5; i++) harness.push((await paste(page, cdp, null)).cpu);
      const overhead = Math.min(...harness);
      const ordinary = [];
      for (const ch of ['abc', 'abd', 'abe']) ordinary.push((await paste(page, cdp, ch)).cpu - overhead);
      results[`${model}: ordinary keystroke`] = `cpu ${Math.min(...ordinary).toFixed(1)} ms`;
      for (const [name, [text, expected]] of Object.entries(HOSTILE)) {
        // Three times, alternating with a plain text so each paste is a real change; the
        // figure is the least of the three (the machine is shared: one sample can be noise).
        const samples = [];
        let shown;
        for (let i = 0; i < 3; i++) {
          await paste(page, cdp, 'ab');
          shown = await paste(page, cdp, text);
          samples.push({ ...shown.work, cpu: shown.cpu - overhead });
        }
        // The run is timed by the wall clock, which a busy machine stretches: subtract the
        // least of the three, so a stretched run cannot hide the page's own CPU time.
        const run = Math.min(...samples.map((s) => s.run));
        for (const s of samples) s.cpuBeyond = s.cpu - run;
        const best = samples.reduce((a, b) => (b.cpuBeyond < a.cpuBeyond ? b : a));
        const bestWall = samples.reduce((a, b) => (b.beyond < a.beyond ? b : a));
        if (best.cpuBeyond > (worst.cpuBeyond ?? 0)) worst = { ...best, case: `${model}: ${name}` };
        if (bestWall.beyond > worstWall.beyond) worstWall = { ...bestWall, case: `${model}: ${name}` };
        results[`${model}: ${name}`] = `cpu ${best.cpuBeyond.toFixed(1)} ms, wall ${bestWall.beyond.toFixed(1)} ms (run ${run.toFixed(1)} ms)`;
        const label = `${model}, ${name}`;
        assert.equal(shown.value, Math.min(text.length, BOX_LIMIT), `${label}: the input box keeps the text (up to ${BOX_LIMIT} characters)`);
        if (text.length > BOX_LIMIT) assert.match(shown.notices, /your paste of [\d,]+ characters was cut to the first 2,000/, label);
        if (text.length > 1000) {
          assert.match(shown.notices, /only the first [\d,]+ of the [\d,]+ characters you entered go to the model/, `${label}: the page says it cut the text`);
        }
        switch (expected[model]) {
          case 'notice':
            assert.match(shown.notices, /the rest was cut off/, `${label}: a visible notice says the text was cut`);
            break;
          case 'unk':
            assert.ok(shown.tokens.includes('<unk>'), `${label}: unknown characters map to <unk>: ${shown.tokens}`);
            assert.equal(shown.error, '', label);
            break;
          case 'error':
            assert.match(shown.error, /vocabulary has no/, `${label}: a clear message names the characters`);
            assert.ok(shown.error.length < 300, `${label}: the message stays short (${shown.error.length} chars)`);
            assert.doesNotMatch(shown.error, /[\u202a-\u202e\u2066-\u2069]/, `${label}: no bidi control reaches the message`);
            break;
          case 'type':
            assert.equal(shown.error, 'Type some text to see its attention.', label);
            break;
          default:
            assert.equal(shown.error, '', label);
            assert.ok(!shown.empty, label);
        }
      }
      // The page still works normally afterwards.
      await paste(page, cdp, 'bad');
      assert.deepEqual((await heatmapState(page)).colTokens.slice(0, 4), model === 's2s' ? ['b', 'a', 'd', '<eos>'] : ['<bos>', 'b', 'a', 'd']);
      longTasks = longTasks.concat(await page.evaluate(() => window.longTasks));
      assertClean(problems);
    }
    figures('hostile text, main-thread time beyond the model run (least of 3)', results);
    const round = (v) => Number(v.toFixed(2));
    figures('hostile text summary', {
      worst_cpu_beyond_ms: round(worst.cpuBeyond), worst_cpu_case: worst.case,
      worst_wall_beyond_ms: round(worstWall.beyond), worst_wall_case: worstWall.case,
      worst_wall_breakdown: Object.fromEntries(['input', 'frame', 'run', 'render'].map((k) => [k, round(worstWall[k])])),
      long_tasks: longTasks.length, longest_task_ms: Math.max(0, ...longTasks),
    });
    // The target and the gate: one frame (16.7 ms) of main-thread time beyond the model run,
    // asserted on CPU time (wall time on a shared machine also counts the other processes).
    const within = Object.entries(results).filter(([, v]) => Number(v.match(/cpu ([\d.]+)/)[1]) <= FRAME_MS).length;
    figures('hostile text, cases within one frame (cpu)', `${within}/${Object.keys(results).length}`);
    assert.ok(worst.cpuBeyond <= FRAME_MS, `${worst.case}: ${worst.cpuBeyond.toFixed(1)} ms of main-thread CPU time beyond the model run (gate one frame, ${FRAME_MS.toFixed(1)} ms)`);
  });

  test('long session: 10,000 keystrokes and 100 model switches, memory flat after warm-up', async () => {
    const { page, problems, context } = await site.open('?model=lm-learned-h1');
    const cdp = await context.newCDPSession(page);
    await page.evaluate(() => {
      window.inputEvents = 0;
      document.getElementById('text-input').addEventListener('input', () => { window.inputEvents += 1; });
    });
    const memory = async () => {
      await cdp.send('HeapProfiler.collectGarbage');
      await cdp.send('HeapProfiler.collectGarbage');
      const heap = await cdp.send('Runtime.getHeapUsage');
      const engine = await engineStatus(page);
      return { js: heap.usedSize, engine: engine.memoryBytes, models: engine.models };
    };
    // 100 keystrokes, each one input event (10 typed then 10 erased, twice over, and so on),
    // 10 to an animation frame so each batch is one run + draw, as fast typing is.
    const type100 = () => page.evaluate(async () => {
      const input = document.getElementById('text-input');
      const letters = 'abcdefgh';
      for (let k = 0; k < 100; k++) {
        if (k % 20 < 10) {
          const ch = letters[(k * 7) % letters.length];
          input.value += ch;
          input.dispatchEvent(new InputEvent('input', { bubbles: true, inputType: 'insertText', data: ch }));
        } else {
          input.value = input.value.slice(0, -1);
          input.dispatchEvent(new InputEvent('input', { bubbles: true, inputType: 'deleteContentBackward' }));
        }
        if (k % 10 === 9) await new Promise((done) => requestAnimationFrame(done));
      }
    });
    const ids = ['s2s-seed-small', 'lm-learned-h1'];
    const started = Date.now();
    const start = await memory();
    let warm = null;
    for (let round = 0; round < 100; round++) {
      const id = ids[round % 2];
      const draws = (await heatmapState(page)).draws;
      await page.selectOption('#model-select', id);
      await page.waitForFunction(([want, n]) => document.body.dataset.model === want
        && Number(document.getElementById('heatmap').dataset.draws) > n, [id, draws]);
      assert.equal((await engineStatus(page)).models, 1, `round ${round}: the previous model was disposed`);
      await type100();
      if (round === 9) warm = await memory();
    }
    const drawsBefore = (await heatmapState(page)).draws;
    await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
    const end = await memory();
    const seconds = (Date.now() - started) / 1000;
    const keystrokes = await page.evaluate(() => window.inputEvents);
    const frames = (await heatmapState(page)).draws;
    figures('long session', {
      keystrokes, model_switches: 100, seconds: Number(seconds.toFixed(1)), heatmap_draws: frames,
      engine_mb: { start: mb(start.engine), warm: mb(warm.engine), end: mb(end.engine) },
      js_heap_mb: { start: mb(start.js), warm: mb(warm.js), end: mb(end.js) },
      live_models_end: end.models,
    });
    assert.equal(keystrokes, 10000, 'one input event per keystroke');
    assert.ok(drawsBefore > 1000, `the page ran and drew throughout (${drawsBefore} draws)`);
    assert.equal(end.models, 1, 'only the current model is alive in the engine');
    assert.ok(end.engine - warm.engine <= 1048576, `wasm memory grew ${mb(end.engine - warm.engine)} MB after warm-up`);
    assert.ok(end.js - warm.js <= 2 * 1048576, `the JS heap grew ${mb(end.js - warm.js)} MB after warm-up`);
    assertClean(problems);
  });

  test('an aborted engine is restarted, the model reloaded and the text kept', async () => {
    const { page, problems } = await site.open('?model=s2s-seed-small&text=pig&pad=0');
    const hooks = (args) => page.evaluate(async (a) => (await import('/attnviz.js')).debugAbortEngine(a), args);
    const typeAndWait = async (ch) => {
      const restarts = Number(await page.$eval('body', (b) => b.dataset.restarts || 0));
      await page.focus('#text-input');
      await page.press('#text-input', 'End');
      await page.keyboard.type(ch);
      await page.waitForFunction((n) => Number(document.body.dataset.restarts || 0) > n, restarts);
      await page.waitForFunction(() => document.body.dataset.ready === '1' && !document.getElementById('heatmap').classList.contains('stale'));
    };
    const message = () => page.$eval('#load-error', (e) => (e.hidden ? '' : `${e.dataset.kind}: ${e.textContent}`));
    const timings = {};

    // 1. The instance dies between calls; the page finds out on the next keystroke.
    assert.equal((await engineStatus(page)).generation, 1);
    await hooks();
    assert.equal((await engineStatus(page)).alive, false, 'the hook made the instance trap');
    let t0 = Date.now();
    await typeAndWait('s');
    timings.between_calls_ms = Date.now() - t0;
    assert.match(await message(), /^engine: The engine stopped \(memory access out of bounds\) and was restarted/);
    assert.match(await message(), /your text was kept/);
    assert.equal(await page.inputValue('#text-input'), 'pigs');
    await page.waitForFunction(() => JSON.parse(document.getElementById('heatmap').dataset.colTokens).join('') === 'pigs<eos>');
    let status = await engineStatus(page);
    assert.deepEqual([status.generation, status.alive, status.models], [2, true, 1]);

    // 2. The instance dies in the middle of a run.
    await hooks({ nextCall: true });
    t0 = Date.now();
    await typeAndWait('x');
    timings.mid_run_ms = Date.now() - t0;
    assert.equal(await page.inputValue('#text-input'), 'pigsx');
    await page.waitForFunction(() => JSON.parse(document.getElementById('heatmap').dataset.colTokens).join('') === 'pigsx<eos>');
    status = await engineStatus(page);
    assert.deepEqual([status.generation, status.alive, status.models], [3, true, 1]);

    // 3. A user's file: after an abort it is read again from the File the user gave.
    const lm = readFileSync(new URL('lm_learned_h1.weights.json', FIXTURES), 'utf8');
    await dropFile(page, 'mine.json', lm);
    await page.waitForFunction(() => document.body.dataset.model === 'file');
    await page.fill('#text-input', 'abc');
    await hooks();
    await typeAndWait('d');
    assert.match(await message(), /mine\.json was loaded again/);
    assert.equal(await page.$eval('body', (b) => b.dataset.model), 'file');
    assert.equal(await page.inputValue('#text-input'), 'abcd');
    await page.waitForFunction(() => JSON.parse(document.getElementById('heatmap').dataset.colTokens).join('') === '<bos>abcd');

    // 4. The engine stops while loading a dropped file: the current model comes back.
    await hooks({ nextCall: true });
    const restarts = Number(await page.$eval('body', (b) => b.dataset.restarts));
    await dropFile(page, 'other.json', lm);
    await page.waitForFunction((n) => Number(document.body.dataset.restarts) > n, restarts);
    assert.match(await message(), /stopped \(memory access out of bounds\) while loading “other\.json” and was restarted: mine\.json was loaded again/);
    assert.equal(await page.inputValue('#text-input'), 'abcd');
    status = await engineStatus(page);
    assert.deepEqual([status.alive, status.models, status.aborts], [true, 1, 4]);
    figures('engine abort', { restarts: Number(await page.$eval('body', (b) => b.dataset.restarts)), ...timings });
    assertClean(problems);
  });

  test('a dropped file is read locally: no request carries its bytes', async () => {
    const { page, problems } = await site.open('?model=s2s-seed-small&text=ab');
    const marker = `private-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const weights = JSON.parse(readFileSync(new URL('lm_learned_h1.weights.json', FIXTURES), 'utf8'));
    weights.metadata = { ...weights.metadata, note: marker };
    const text = JSON.stringify(weights);
    const seen = [];
    page.on('request', (request) => seen.push({ url: request.url(), method: request.method(), body: request.postDataBuffer() }));
    page.on('websocket', (ws) => seen.push({ url: ws.url(), method: 'WEBSOCKET', body: null }));
    const serverBefore = site.server.received.length;

    await dropFile(page, 'private.weights.json', text);
    await page.waitForFunction(() => document.body.dataset.model === 'file' && document.body.dataset.ready === '1');
    assert.match(await page.textContent('#model-card'), new RegExp(marker), 'the file was read (its metadata is on the card)');
    // Use it a little: type, switch views, export, as a user would.
    await page.focus('#text-input');
    await page.keyboard.type(' cafe');
    await page.selectOption('#head-select', { index: 0 });
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#export-json')]);
    await download.path();
    await page.waitForTimeout(300);  // let the URL update and anything late go out

    const sent = seen.filter((r) => r.method !== 'GET' || (r.body && r.body.length > 0));
    const named = seen.filter((r) => r.url.includes(marker));
    const uploaded = site.server.received.slice(serverBefore).filter((r) => r.body.length > 0 || r.method !== 'GET');
    figures('dropped file', {
      file_bytes: Buffer.byteLength(text), requests_after_drop: seen.length,
      requests: [...new Set(seen.map((r) => `${r.method} ${r.url.replace(site.server.url, '/').replace(/^blob:.*/, 'blob:(export)')}`))],
      with_body: sent.length,
    });
    assert.deepEqual(sent, [], 'no request after the drop has a body or a method other than GET');
    assert.deepEqual(named, [], 'no request names the file content');
    assert.deepEqual(uploaded, [], 'the server received no upload');
    assert.ok(seen.every((r) => r.url.startsWith(site.server.url) || r.url.startsWith('blob:')), 'every request stays on the page origin');
    assertClean(problems);
  });
});
