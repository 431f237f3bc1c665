// The page's controller: owns the state, the loaded model and its latest run; runs and draws
// an input event at once (bursts coalesced into one run + draw per animation frame) and hands
// each view what it shows.

import { initEngine, loadModel } from '../attnviz.js';
import { colormapTable } from './colormaps.js';
import { onWidthChange, setAttr, setText, visibleText } from './draw.js';
import { ControlsView, kindLabel, kindsOf, layersOf } from './controls-view.js';
import { exportCsv, exportJson, exportPng } from './export.js';
import { GridView } from './grid-view.js';
import { HeatmapView } from './heatmap-view.js';
import { averageHeads, ensure, gather, normalise, visibleIndices } from './matrix.js';
import { renderModelCard } from './model-card-view.js';
import { fetchWeights, loadManifest, pickEntry, readUserFile, sampleText } from './models.js';
import { ScrubberView } from './scrubber-view.js';
import { HEAD_AVERAGE, createState, readUrl, toQuery } from './state.js';
import { ViewsPanel } from './views-panel.js';
import { installEmbedApi } from './embed-api.js';

// Greedy tokens a causal LM adds after the text; the page picks this, so the engine's notice
// that it was shortened to fit max_len is not shown to the user.
const LM_CONTINUATION = 8;

// Hostile text: the engine reads at most max_len tokens, so the page sends it only a bounded
// prefix of what was typed or pasted (with a notice), keeping its work small on a
// 10,000-character or 10 MB paste. The input box keeps everything the user typed.
const TEXT_CAP_MIN = 1000;      // characters (UTF-16 code units), at least
const TEXT_CAP_PER_TOKEN = 64;  // ... or this many per token the model can read
// The input box itself holds at most this much, or what the model may get if that is more (a
// longer paste is cut, with a notice): laying out a 10,000-character line of mixed scripts
// costs the browser more than a frame on every keystroke, and the model reads no more anyway.
const INPUT_LIMIT_MIN = 2000;
const LM_ECHO = 48;             // characters of the typed text shown before a continuation (one line)

// The page's performance measures ('attnviz:keystroke', 'attnviz:main-thread') are cleared
// after this many, so a tab left open for hours does not collect them without bound.
const MEASURE_LIMIT = 5000;

const $ = (id) => document.getElementById(id);
const el = {
  app: $('app'),
  modelSelect: $('model-select'),
  fileButton: $('file-button'),
  fileInput: $('file-input'),
  loadError: $('load-error'),
  text: $('text-input'),
  runError: $('run-error'),
  notices: $('notices'),
  output: $('output-text'),
  heatmap: $('heatmap'),
  heatmapTitle: $('heatmap-title'),
  readout: $('readout'),
  card: $('model-card'),
  grid: $('head-grid'),
  gridPanel: $('grid-panel'),
  status: $('status'),
  latency: $('latency'),
  embedSnippet: $('embed-snippet'),
  openFull: $('open-full'),
  dropOverlay: $('drop-overlay'),
};

const state = createState();
const app = {
  manifest: [],
  model: null,
  entry: null,        // manifest entry, or { title, description } for a user's file
  info: null,
  result: null,       // latest successful run
  goodText: null,     // the text of that run
  needsRun: false,
  needsDraw: false,
  frame: 0,           // the requested animation frame, 0 if none
  drewSinceFrame: false,  // an input handler ran and drew since the last animation frame
  pendingSince: null, // timeStamp of the earliest input event not yet drawn
  buffers: { average: null, gathered: null, unit: null, row: null },
  view: null,         // what the heatmap shows (also what the exports write)
  urlTimer: 0,
  source: null,       // how to load the current model again: { entry } or { entry, file }
  cut: null,          // { used, total } when only a prefix of the text goes to the model
  boxCut: 0,          // length of a paste cut to INPUT_LIMIT (0: none)
  restarting: null,   // the promise of an engine restart in progress
  restarts: 0,
  abortedText: null,  // the text of a run that aborted the engine
  blockedText: null,  // a text that aborted it twice in a row: not run again until changed
  work: { events: 0, input: 0, run: 0 },  // main-thread time of the input events of this frame
  measures: 0,
};

const heatmap = new HeatmapView(el.heatmap, el.readout, {
  onSelect(highlight, focus) {
    state.highlight = highlight;
    state.focus = focus;
  },
});
const grid = new GridView(el.grid, {
  onPick(layer, head) {
    change({ layer, head });
    el.heatmap.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
    el.heatmap.focus({ preventScroll: true });
  },
});
const scrubber = new ScrubberView(
  { panel: $('scrubber-panel'), range: $('step-range'), label: $('step-label'), tokens: $('step-tokens'), strip: $('step-strip') },
  {
    onStep(step) {
      state.step = step;
      if (state.kind !== 'encoderSelf') {
        state.highlight = { row: step, col: null };
        state.focus = { row: step, col: state.focus.col };
      }
      requestDraw();
      scheduleUrl();
    },
  },
);
const controls = new ControlsView(
  {
    kind: $('kind-select'), layer: $('layer-select'), head: $('head-select'), colormap: $('colormap-select'),
    scale: $('scale-select'), log: $('log-check'), padding: $('padding-check'), paddingControl: $('padding-control'),
    grid: $('grid-check'),
  },
  { onChange: change },
);
// The analysis views and head ablation (views-panel.js), and the iframe's postMessage API.
const views = new ViewsPanel($('views-panel'), $('ablation-banner'), {
  getModel: () => app.model,
  getManifest: () => app.manifest,
  getEntry: () => app.entry,
  requestRun: () => requestRun(),
  requestDraw: () => requestDraw(),
  guard: (fn) => guarded(fn),
});
const embedApi = installEmbedApi({
  current: () => ({ view: app.view, state, result: app.result, modelId: state.modelId, text: app.goodText, ablations: app.model?.ablations() ?? [] }),
  setText(text) {
    el.text.value = text;
    state.text = text;
    requestRun();
    scheduleUrl();
  },
  async setModel(id, text) {
    const entry = app.manifest.find((e) => e.id === id);
    if (!entry) throw new Error(`there is no model "${id}" here`);
    await openEntry(entry, text);
  },
  setView: (patch) => change(patch),
});

/**
 * Applies a change of view options. No re-run is needed, since every kind's attention is
 * there, unless the text was long enough that the run recorded one layer and another is asked
 * for.
 */
function change(patch) {
  Object.assign(state, patch);
  if ('kind' in patch || 'showPadding' in patch) state.highlight = null;
  clampToModel();
  const attention = app.result?.[state.kind];
  if (attention && !attention.hasLayer(state.layer)) requestRun();
  else requestDraw();
  scheduleUrl();
}

/** The layer of each kind a run keeps when it can keep only one: the one on screen. */
function captureLayers() {
  const layers = {};
  for (const kind of kindsOf(app.info)) layers[kind] = Math.min(state.layer, layersOf(kind, app.info) - 1);
  return layers;
}

function clampToModel() {
  if (!app.info) return;
  if (!kindsOf(app.info).includes(state.kind)) state.kind = kindsOf(app.info)[0];
  state.layer = Math.min(Math.max(0, state.layer), layersOf(state.kind, app.info) - 1);
  const heads = app.info.config.nhead;
  if (state.head === HEAD_AVERAGE && heads < 2) state.head = 0;
  if (state.head !== HEAD_AVERAGE) state.head = Math.min(Math.max(0, state.head), heads - 1);
}

// ---- the frame loop ----------------------------------------------------------------------
// An input event that arrives when nothing has been drawn since the last animation frame is
// run and drawn at once, in its own handler: the new picture is ready before the browser
// next paints, with no wait for an animation frame first. Events that come faster than frames
// (fast typing, a held key, several in one task) are coalesced: the rest of that frame's
// events wait for the next animation frame and share one run + draw there. Everything else
// (view options, resizes, the analysis views) draws in the next animation frame.

function requestRun(since) {
  app.needsRun = true;
  if (since !== undefined && app.pendingSince === null) app.pendingSince = since;
  requestDraw();
}

function requestDraw() {
  app.needsDraw = true;
  if (!app.frame) app.frame = requestAnimationFrame(frame);
}

function frame() {
  app.frame = 0;
  app.drewSinceFrame = false;
  if (app.needsDraw) update(false);
}

/** From an input handler: the run + draw now, unless one already happened since the last frame. */
function updateNow() {
  if (app.drewSinceFrame || !app.model) return;
  app.drewSinceFrame = true;
  update(true);  // the animation frame requested with it finds nothing left to do
}

/** Runs the model if the text or options changed, draws, and records the measures. */
function update(fromInput) {
  if (!app.model) return;
  app.needsDraw = false;
  const start = performance.now();
  try {
    if (app.needsRun) {
      app.needsRun = false;
      run();
      if (!app.model) return;  // the engine stopped during the run and is being restarted
    }
    draw();
  } catch (error) {
    if (!error.engineAborted) throw error;
    reloadAfterAbort(error);
    return;
  }
  const end = performance.now();
  if (app.pendingSince !== null) {
    const ms = end - app.pendingSince;
    measure('attnviz:keystroke', { start: app.pendingSince, end });
    setText(el.latency, `last keystroke ${ms.toFixed(1)} ms`);
    el.latency.dataset.ms = ms.toFixed(3);
    app.pendingSince = null;
  }
  if (app.work.events > 0) measureMainThread(start, end, fromInput);
}

/**
 * The main-thread time the input events handled by this update cost beyond the model's own
 * run: their handlers, the update minus model.run, and the browser's style, layout and paint
 * of the frame that shows it (from that frame's animation callbacks to the first task after
 * it; an update in an input handler waits for that frame, an update in a frame is in it).
 * Recorded as the 'attnviz:main-thread' measure, detail { events, input, frame, run, render,
 * beyond } in ms ('frame': the update's own time).
 */
function measureMainThread(start, end, fromInput) {
  const work = app.work;
  app.work = { events: 0, input: 0, run: 0 };
  const afterFrame = (renderStart) => {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      const after = performance.now();
      channel.port1.close();
      const detail = { events: work.events, input: work.input, frame: end - start, run: work.run, render: after - renderStart };
      detail.beyond = detail.input + detail.frame - detail.run + detail.render;
      measure('attnviz:main-thread', { start, end: after, detail });
    };
    channel.port2.postMessage(0);
  };
  if (fromInput) requestAnimationFrame(() => afterFrame(performance.now()));
  else afterFrame(end);
}

function measure(name, options) {
  app.measures += 1;
  if (app.measures > MEASURE_LIMIT) {
    app.measures = 1;
    performance.clearMeasures('attnviz:keystroke');
    performance.clearMeasures('attnviz:main-thread');
  }
  performance.measure(name, options);
}

/** The text the model gets: state.text, or a bounded prefix of it (app.cut says so). */
function modelCap() {
  return Math.max(TEXT_CAP_MIN, (app.info?.config.max_len ?? 0) * TEXT_CAP_PER_TOKEN);
}

function inputLimit() {
  return Math.max(INPUT_LIMIT_MIN, modelCap());
}

function modelInput() {
  const text = state.text;
  const cap = modelCap();
  if (text.length <= cap) return { text, cut: null };
  const prefix = cutText(text, cap);
  return { text: prefix, cut: { used: prefix.length, total: text.length } };
}

/** The first length UTF-16 units of text, not splitting a surrogate pair. */
function cutText(text, length) {
  if (text.length <= length) return text;
  const last = text.charCodeAt(length - 1);
  return text.slice(0, last >= 0xd800 && last <= 0xdbff ? length - 1 : length);
}

const thousands = (n) => String(n).replace(/\B(?=(\d{3})+$)/g, ',');

/** model.run, timed (its time is the model's own, not the page's). */
function runModel(text, options) {
  const t0 = performance.now();
  try {
    return app.model.run(text, options);
  } finally {
    app.work.run += performance.now() - t0;
  }
}

function run() {
  const options = {
    ...(app.info.config.architecture === 'seq2seq' ? {} : { continuation: LM_CONTINUATION }),
    captureLayers: captureLayers(),
    ...views.runOptions(),
  };
  const { text, cut } = modelInput();
  app.cut = cut;
  if (text === app.blockedText) {
    app.result = null;
    showRunError('This text stopped the engine twice in a row, so it is not run again: change it to try again.');
    return;
  }
  try {
    app.result = runModel(text, options);
    app.goodText = text;
    app.abortedText = null;
    showRunError(null);
  } catch (error) {
    if (error.engineAborted) {
      // The same text stopping a freshly restarted engine again would loop: block it.
      if (app.abortedText === text) app.blockedText = text;
      app.abortedText = text;
      reloadAfterAbort(error);
      return;
    }
    showRunError(text.trim() === '' ? 'Type some text to see its attention.' : error.message);
    // The engine's buffers now hold the failed run; restore the last good one so every view
    // (and a change of layer or head) keeps showing consistent data.
    app.result = null;
    if (app.goodText !== null) {
      try {
        app.result = runModel(app.goodText, options);
      } catch (again) {
        app.result = null;
        if (again.engineAborted) reloadAfterAbort(again);
      }
    }
  }
}

function showRunError(message) {
  el.runError.hidden = !message;
  setText(el.runError, message ? visibleText(message) : '');
  setAttr(el.text, 'aria-invalid', message ? 'true' : 'false');
  el.heatmap.classList.toggle('stale', !!message);
}

/** The tokens on the query and key axes of a kind, and how to name them. */
function axesOf(kind, result, seq2seq) {
  if (kind === 'encoderSelf') {
    return seq2seq
      ? { rows: result.srcTokens, cols: result.srcTokens, rowAxis: 'queries (rows): source tokens', colAxis: 'keys (columns): source tokens' }
      : { rows: result.srcTokens, cols: result.srcTokens, rowAxis: 'queries (rows): tokens', colAxis: 'keys (columns): tokens attended to' };
  }
  if (kind === 'decoderSelf') {
    return { rows: result.tgtTokens, cols: result.tgtTokens, rowAxis: 'queries (rows): decoder inputs', colAxis: 'keys (columns): decoder inputs' };
  }
  return { rows: result.tgtTokens, cols: result.srcTokens, rowAxis: 'queries (rows): decoder inputs', colAxis: 'keys (columns): source tokens' };
}

/** The matrix [rows][cols] of head (or the head average) of layer, as a view or buffer. */
function headMatrix(attention, layer, head) {
  if (head !== HEAD_AVERAGE) return attention.head(layer, head);
  app.buffers.average = ensure(app.buffers.average, attention.rows * attention.cols);
  return averageHeads(attention, layer, app.buffers.average);
}

function draw() {
  const result = app.result;
  const info = app.info;
  controls.update(state, info);
  const seq2seq = info.config.architecture === 'seq2seq';
  renderOutput(result, seq2seq);
  if (!result) {
    heatmap.showEmpty(state.text.trim() === '' ? 'Type some text to see its attention.' : 'Nothing to show for this text.');
    renderNotices([]);
    el.gridPanel.hidden = true;
    scrubber.hide();
    views.update({ result: null, info, state });
    markReady();
    return;
  }
  renderNotices(result.notices);

  const attention = result[state.kind];
  const axes = axesOf(state.kind, result, seq2seq);
  const pad = info.tokenizer.src_vocab[info.tokenizer.specials.pad];
  const rowIndex = visibleIndices(axes.rows, state.showPadding, pad);
  const colIndex = visibleIndices(axes.cols, state.showPadding, pad);
  const rows = rowIndex.length;
  const cols = colIndex.length;
  const source = headMatrix(attention, state.layer, state.head);
  const full = rows === attention.rows && cols === attention.cols;
  app.buffers.gathered = ensure(app.buffers.gathered, rows * cols);
  app.buffers.unit = ensure(app.buffers.unit, rows * cols);
  const matrix = full ? source : gather(source, attention.cols, rowIndex, colIndex, app.buffers.gathered);
  const options = { scale: state.scale, log: state.log };
  const range = normalise(matrix, rows, cols, options, app.buffers.unit);
  const table = colormapTable(state.colormap);

  let highlight = state.highlight;
  if (highlight && ((highlight.row ?? 0) >= rows || (highlight.col ?? 0) >= cols)) highlight = state.highlight = null;
  const rowTokens = rowIndex.map((i) => axes.rows[i]);
  const colTokens = colIndex.map((i) => axes.cols[i]);
  app.view = {
    matrix, unit: app.buffers.unit, rows, cols, rowTokens, colTokens,
    rowAxis: axes.rowAxis, colAxis: axes.colAxis, table, range, highlight, focus: state.focus,
    legendCaption: state.scale === 'row' ? `weight ÷ row maximum${state.log ? ' (log scale)' : ''}` : `attention weight${state.log ? ' (log scale)' : ''}`,
  };
  heatmap.update(app.view);
  const headName = state.head === HEAD_AVERAGE ? 'average of the heads' : `head ${state.head + 1}`;
  setText(el.heatmapTitle, `${capitalise(kindLabel(state.kind, info))} · layer ${state.layer + 1} · ${headName}`);
  setAttr(el.heatmap, 'data-kind', state.kind);
  setAttr(el.heatmap, 'data-layer', String(state.layer));
  setAttr(el.heatmap, 'data-head', String(state.head));

  if (state.showGrid && !state.embed) {
    el.gridPanel.hidden = false;
    grid.update({
      attention, rowIndex, colIndex, options, table, selected: { layer: state.layer, head: state.head },
      kindLabel: kindLabel(state.kind, info),
    });
  } else {
    el.gridPanel.hidden = true;
  }

  if (seq2seq && result.cross && !state.embed) drawScrubber(result, info, colIndex, options, table, pad);
  else scrubber.hide();
  if (!state.embed) views.update({ result, info, state, axes, rowIndex, colIndex, table, pad, text: app.goodText });

  setText(el.status, `${app.entry.title} · ${result.srcTokens.length} source tokens${seq2seq ? ` · ${result.tgtTokens.length} decoder tokens` : ''}`);
  markReady();
}

function markReady() {
  setAttr(document.body, 'data-ready', '1');
  setAttr(el.app, 'aria-busy', 'false');
  embedApi.afterDraw();
}

function drawScrubber(result, info, _unused, options, table, pad) {
  const cross = result.cross;
  const steps = cross.rows;
  state.step = Math.min(Math.max(0, state.step), steps - 1);
  const layer = Math.min(state.layer, cross.layers - 1);
  const source = headMatrix(cross, layer, state.head);
  const srcIndex = visibleIndices(result.srcTokens, state.showPadding, pad);
  app.buffers.row = ensure(app.buffers.row, srcIndex.length);
  const row = gather(source, cross.cols, [state.step], srcIndex, app.buffers.row);
  const vocab = info.tokenizer.tgt_vocab;
  const produced = result.tgtTokens.map((_, i) =>
    vocab[result.outputIds[i]] ?? result.tgtTokens[i + 1] ?? vocab[info.tokenizer.specials.eos]);
  scrubber.update({
    step: state.step, inputs: result.tgtTokens, produced, row,
    srcTokens: srcIndex.map((i) => result.srcTokens[i]), options, table,
  });
}

function renderOutput(result, seq2seq) {
  if (!result) {
    el.output.replaceChildren();
    return;
  }
  if (seq2seq) {
    const text = result.output || '(empty: the decoder produced <eos> first)';
    if (el.output.firstElementChild) el.output.textContent = text;  // (the LM's two parts were there)
    else setText(el.output, text);
    return;
  }
  // The same two elements every time, their text changed only when it changes: less for the
  // browser to lay out on each keystroke.
  const { typed, continued } = outputParts;
  if (el.output.firstChild !== typed || el.output.lastChild !== continued) el.output.replaceChildren(typed, continued);
  setText(typed, app.goodText.length > LM_ECHO ? `${cutText(app.goodText, LM_ECHO)}…` : app.goodText);
  setText(continued, result.output);
  setAttr(el.output, 'title', 'Your text, then the greedy continuation (bold)');
}

const outputParts = (() => {
  const typed = document.createElement('span');
  typed.className = 'typed';
  const continued = document.createElement('strong');
  continued.className = 'continued';
  return { typed, continued };
})();

function renderNotices(notices) {
  const shown = notices.filter((n) => !n.startsWith('the continuation was cut'));
  if (app.cut) {
    shown.unshift(`only the first ${thousands(app.cut.used)} of the ${thousands(app.cut.total)} characters you entered go to the model (it reads at most ${app.info.config.max_len} tokens)`);
  }
  if (app.boxCut) shown.unshift(`your paste of ${thousands(app.boxCut)} characters was cut to the first ${thousands(inputLimit())}`);
  el.notices.hidden = shown.length === 0;
  const key = shown.join('\n');
  if (el.notices.dataset.key === key) return;
  el.notices.dataset.key = key;
  el.notices.replaceChildren(...shown.map((n) => {
    const li = document.createElement('li');
    li.textContent = `Note: ${n}.`;
    return li;
  }));
}

function capitalise(text) {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

// ---- models ------------------------------------------------------------------------------

function showLoadError(message, kind = 'load') {
  el.loadError.hidden = !message;
  el.loadError.textContent = '';
  el.loadError.dataset.kind = message ? kind : '';
  if (!message) return;
  const text = document.createElement('span');
  text.textContent = message;
  const close = document.createElement('button');
  close.type = 'button';
  close.className = 'close';
  close.setAttribute('aria-label', 'Dismiss');
  close.textContent = '×';
  close.addEventListener('click', () => showLoadError(null));
  el.loadError.append(text, close);
}

/** Makes model current (disposing the previous one) and opens it with text. */
function useModel(model, entry, text, source) {
  const previous = app.model;
  app.model = model;
  app.entry = entry;
  app.source = source;
  app.info = model.info();
  app.result = null;
  app.goodText = null;
  views.resetCapture();
  if (previous && previous !== model) previous.dispose();
  state.modelId = entry.id ?? null;
  state.text = text;
  if (el.text.value !== text) el.text.value = text;  // (an equal value would move the caret)
  state.highlight = null;
  clampToModel();
  renderModelCard(el.card, entry, app.info);
  syncModelSelect();
  document.body.dataset.model = entry.id ?? 'file';
  document.body.dataset.architecture = app.info.config.architecture;
  requestRun();
  scheduleUrl();
}

function syncModelSelect() {
  const select = el.modelSelect;
  select.querySelector('option[value=""]')?.remove();
  if (app.entry.id) {
    select.value = app.entry.id;
  } else {
    const option = new Option(`Your file: ${app.entry.title}`, '');
    select.appendChild(option);
    select.value = '';
  }
}

async function openEntry(entry, text) {
  el.status.textContent = `Loading ${entry.title}…`;
  const model = await loadModel(await fetchWeights(entry));
  useModel(model, entry, text ?? entry.example_text ?? '', { entry });
}

async function openUserFile(file) {
  try {
    const model = await loadModel(await readUserFile(file));
    const info = model.info();
    let text = state.text;
    try { model.run(text); } catch { text = sampleText(info); }
    const entry = { id: null, title: file.name, description: 'Loaded from your file; it stays in this browser tab.' };
    useModel(model, entry, text, { entry, file });
    showLoadError(null);
  } catch (error) {
    if (error.engineAborted) {
      reloadAfterAbort(error, ` while loading “${file.name}”`);
      return;
    }
    const current = app.entry ? ` The current model (${app.entry.title}) is still loaded.` : '';
    showLoadError(`Could not load “${file.name}”: ${error.message}.${current}`);
    el.status.textContent = `Could not load ${file.name}`;
  }
}

/**
 * After the engine instance stopped (a trap or an abort in wasm: out of memory, a bug): says
 * so, loads the current model again into a fresh instance (from its file or URL) and re-runs
 * the user's text, keeping it and the view options. context: where it happened, for the message.
 */
function reloadAfterAbort(error, context = '') {
  const reason = error.reason || error.message;
  app.model = null;  // dead already: its memory went with the instance
  app.result = null;
  app.view = null;
  if (app.restarting) return app.restarting;
  const source = app.source;
  el.status.textContent = `The engine stopped (${reason}); restarting it…`;
  app.restarting = (async () => {
    try {
      if (!source) throw new Error('no model was open');
      const bytes = source.file ? await readUserFile(source.file) : await fetchWeights(source.entry);
      const model = await loadModel(bytes);
      useModel(model, source.entry, state.text, source);
      app.restarts += 1;
      document.body.dataset.restarts = String(app.restarts);
      showLoadError(`The engine stopped (${reason})${context} and was restarted: ${source.entry.title} was loaded again and your text was kept.`, 'engine');
    } catch (again) {
      showLoadError(`The engine stopped (${reason})${context} and could not be restarted (${again.message}). Reload the page; your text is kept in the address bar.`, 'engine');
      el.status.textContent = 'The engine stopped';
    } finally {
      app.restarting = null;
    }
  })();
  return app.restarting;
}

/** Runs fn; an engine abort in it restarts the engine instead of escaping as an uncaught error. */
function guarded(fn) {
  try {
    fn();
  } catch (error) {
    if (!error.engineAborted) throw error;
    reloadAfterAbort(error);
  }
}

// ---- URL, embed, exports -----------------------------------------------------------------

function scheduleUrl() {
  clearTimeout(app.urlTimer);
  app.urlTimer = setTimeout(() => {
    const shared = { ...state, text: modelInput().text };  // a bounded link, even after a huge paste
    history.replaceState(null, '', toQuery(shared));
    el.openFull.href = `./${toQuery(shared, { embed: false })}`;
  }, 150);
}

function embedSnippet() {
  const src = new URL(toQuery({ ...state, text: modelInput().text }, { embed: true }), location.href).href;
  return `<iframe src="${src.replace(/"/g, '&quot;')}" title="attnviz: attention heatmap" width="720" height="760" loading="lazy"></iframe>`;
}

async function copyEmbed() {
  const snippet = embedSnippet();
  el.embedSnippet.hidden = false;
  el.embedSnippet.value = snippet;
  el.embedSnippet.select();
  try {
    await navigator.clipboard.writeText(snippet);
    el.status.textContent = 'Embed snippet copied to the clipboard';
  } catch {
    el.status.textContent = 'Embed snippet selected below: press Ctrl+C to copy it';
  }
}

function snapshot() {
  const v = app.view;
  const attention = app.result[state.kind];
  const axes = axesOf(state.kind, app.result, app.info.config.architecture === 'seq2seq');
  return {
    model: state.modelId || app.entry.title, text: app.goodText, kind: state.kind, layer: state.layer,
    head: state.head === HEAD_AVERAGE ? null : state.head,
    rows: v.rows, cols: v.cols, matrix: v.matrix, rowTokens: v.rowTokens, colTokens: v.colTokens,
    attention, allRowTokens: axes.rows, allColTokens: axes.cols,
  };
}

// ---- wiring ------------------------------------------------------------------------------

function wire() {
  el.text.addEventListener('input', (event) => {
    const t0 = performance.now();
    const limit = inputLimit();
    if (el.text.value.length > limit) {
      app.boxCut = el.text.value.length;
      el.text.value = cutText(el.text.value, limit);
    } else if (el.text.value.length < limit) {
      app.boxCut = 0;
    }
    state.text = el.text.value;
    if (app.blockedText !== null && modelInput().text !== app.blockedText) app.blockedText = null;
    requestRun(event.timeStamp);
    scheduleUrl();
    app.work.events += 1;
    app.work.input += performance.now() - t0;
    updateNow();
  });
  el.modelSelect.addEventListener('change', async () => {
    const entry = app.manifest.find((e) => e.id === el.modelSelect.value);
    if (!entry) return;
    try {
      await openEntry(entry);
      showLoadError(null);
    } catch (error) {
      if (error.engineAborted) {
        reloadAfterAbort(error, ` while opening ${entry.title}`);
        return;
      }
      showLoadError(`Could not open ${entry.title}: ${error.message}.`);
      syncModelSelect();
    }
  });
  el.fileButton.addEventListener('click', () => el.fileInput.click());
  el.fileInput.addEventListener('change', () => {
    const file = el.fileInput.files[0];
    el.fileInput.value = '';
    if (file) openUserFile(file);
  });

  let dragDepth = 0;
  const hasFiles = (e) => Array.from(e.dataTransfer?.types || []).includes('Files');
  window.addEventListener('dragenter', (e) => {
    if (!hasFiles(e)) return;
    dragDepth += 1;
    el.dropOverlay.hidden = false;
  });
  window.addEventListener('dragleave', () => {
    dragDepth = Math.max(0, dragDepth - 1);
    if (dragDepth === 0) el.dropOverlay.hidden = true;
  });
  window.addEventListener('dragover', (e) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    e.dataTransfer.dropEffect = 'copy';
  });
  window.addEventListener('drop', (e) => {
    e.preventDefault();
    dragDepth = 0;
    el.dropOverlay.hidden = true;
    const files = e.dataTransfer?.files;
    if (!files || files.length === 0) return;
    if (files.length > 1) showLoadError(`Drop one weights file at a time (got ${files.length}).`);
    else openUserFile(files[0]);
  });

  $('export-png').addEventListener('click', () => guarded(() => app.view && exportPng(el.heatmap, snapshot())));
  $('export-csv').addEventListener('click', () => guarded(() => app.view && exportCsv(snapshot())));
  $('export-json').addEventListener('click', () => guarded(() => app.view && exportJson(snapshot())));
  $('copy-embed').addEventListener('click', copyEmbed);

  // The views size their canvases by the widths of their containers (draw.js contentWidth):
  // when one changes (window resize, a scrollbar, the narrow layout), draw again.
  onWidthChange(() => requestDraw());
}

async function boot() {
  // The engine starts (fetch, compile, warm-up) while the manifest and the weights download.
  initEngine().catch(() => {});  // a failure shows when the model loads
  const fromUrl = readUrl(state, location.search);
  if (state.embed) {
    document.body.classList.add('embed');
    el.openFull.hidden = false;
  }
  wire();
  try {
    app.manifest = await loadManifest();
    el.modelSelect.replaceChildren(...app.manifest.map((e) => new Option(e.title, e.id)));
    const entry = pickEntry(app.manifest, state.modelId);
    if (!entry) throw new Error('weights/manifest.json lists no models');
    if (fromUrl.hasModel && entry.id !== state.modelId) {
      showLoadError(`There is no model “${state.modelId}” here; opened ${entry.title} instead.`);
    }
    const urlText = fromUrl.hasText && (!fromUrl.hasModel || entry.id === state.modelId) ? state.text : undefined;
    await openEntry(entry, urlText);
  } catch (error) {
    showLoadError(`The page could not start: ${error.message}. You can still open a weights file of your own.`);
    el.status.textContent = 'No model loaded';
  }
}

boot();
