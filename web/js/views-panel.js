// The analysis panel under the heatmap: live head ablation (always shown) and five views in
// tabs, each of the current kind / layer / head of the page:
//   head view       BertViz-style lines, one head or a colour per head        (head-view.js)
//   rollout         Abnar & Zuidema 2020, per kind and output -> source          (rollout.js)
//   inside one head pre-softmax scores with masks, softmax at a display temperature (head-math.js)
//   value-weighted  a_ij * ||v_j W_O^h|| (Kobayashi et al. 2020) beside a_ij      (head-math.js)
//   compare         a second input or model (B) beside the page's (A), and A - B
// main.js calls update() after each draw and asks runOptions() what the engine must capture;
// only the open tab is computed, and only while the panel is on screen, so the keystroke path
// stays short.

import { kindLabel, kindsOf, layersOf } from './controls-view.js';
import { HeadView } from './head-view.js';
import { finiteRange, headBlock, softmaxRows, valueNormRow, valueWeighted } from './head-math.js';
import { DIVERGING } from './colormaps.js';
import { MatrixPanel } from './matrix-panel.js';
import { gather } from './matrix.js';
import { fetchWeights } from './models.js';
import { rolloutSelf, rolloutSeq2seq } from './rollout.js';
import { HEAD_AVERAGE } from './state.js';
import { loadModel } from '../attnviz.js';

export const TABS = [
  { id: 'head', label: 'Head view' },
  { id: 'rollout', label: 'Rollout' },
  { id: 'inside', label: 'Inside one head' },
  { id: 'value', label: 'Value-weighted' },
  { id: 'compare', label: 'Compare' },
];

const LM_CONTINUATION = 8;  // as the page's own runs (main.js)

function make(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

/** Temperature from the slider position 0..100: 0.1 .. 10 on a log scale, 1 in the middle. */
export function sliderTemperature(position) {
  return Math.pow(10, (Number(position) - 50) / 50);
}

export class ViewsPanel {
  /**
   * panel: the <section> to fill; banner: the element above the output that says what is
   * ablated. hooks: { getModel(), getManifest(), getEntry(), requestRun(), requestDraw(),
   * guard(fn) (runs fn, turning an engine abort into the page's restart) }.
   */
  constructor(panel, banner, hooks) {
    this.panel = panel;
    this.banner = banner;
    this.hooks = hooks;
    this.tab = 'head';
    this.mode = 'zero';
    this.ablationKind = null;
    this.allHeads = false;
    this.temperature = 1;
    this.context = null;
    this.compare = { model: null, entryId: null, loading: null, text: null, error: '' };
    this.build();
    // The open view is drawn only while the panel is on (or near) the screen: below the fold
    // it would cost every keystroke a large canvas nobody sees. Scrolled to, it is drawn then.
    this.onScreen = true;   // until the observer first says otherwise
    this.behind = false;    // a draw was skipped while off screen
    new IntersectionObserver((entries) => {
      this.onScreen = entries[entries.length - 1].isIntersecting;
      if (this.onScreen && this.behind) this.hooks.requestDraw();
    }, { rootMargin: '200px 0px' }).observe(panel);
  }

  build() {
    const p = this.panel;
    p.replaceChildren();
    p.append(make('h2', 'panel-title', 'Analysis'));

    // ---- ablation strip ----
    const ablate = make('div', 'ablate');
    ablate.id = 'ablate';
    const head = make('div', 'ablate-bar');
    const title = make('span', 'ablate-title', 'Ablate heads');
    this.ablateKind = make('select', 'ablate-kind');
    this.ablateKind.id = 'ablate-kind';
    this.ablateKind.setAttribute('aria-label', 'Attention kind to ablate');
    this.ablateKind.addEventListener('change', () => { this.ablationKind = this.ablateKind.value; this.renderAblation(); });
    const modeGroup = make('span', 'ablate-modes');
    modeGroup.setAttribute('role', 'radiogroup');
    modeGroup.setAttribute('aria-label', 'What a click does to a head');
    this.modeInputs = ['zero', 'uniform'].map((mode) => {
      const label = make('label');
      const input = make('input');
      input.type = 'radio';
      input.name = 'ablate-mode';
      input.value = mode;
      input.checked = mode === this.mode;
      input.addEventListener('change', () => { this.mode = mode; });
      label.append(input, ` ${mode === 'zero' ? 'zero its output' : 'uniform pattern'}`);
      modeGroup.append(label);
      return input;
    });
    this.resetButton = make('button', 'ablate-reset', 'Reset ablations');
    this.resetButton.type = 'button';
    this.resetButton.id = 'ablate-reset';
    this.resetButton.addEventListener('click', () => this.setAblations([]));
    head.append(title, this.ablateKind, modeGroup, this.resetButton);
    this.ablateGrid = make('div', 'ablate-grid');
    this.ablateGrid.id = 'ablate-grid';
    this.ablateGrid.setAttribute('role', 'group');
    this.ablateGrid.setAttribute('aria-label', 'Heads: click one to ablate it, click again to restore it');
    const hint = make('p', 'hint', 'Click a head to ablate it inside the engine (exact, as in PyTorch): the output and every heatmap are recomputed at once. Click again to restore it.');
    ablate.append(head, this.ablateGrid, hint);
    p.append(ablate);

    // ---- tabs ----
    const tabs = make('div', 'view-tabs');
    tabs.setAttribute('role', 'tablist');
    tabs.setAttribute('aria-label', 'Analysis views');
    this.tabButtons = {};
    this.bodies = {};
    for (const t of TABS) {
      const b = make('button', 'view-tab', t.label);
      b.type = 'button';
      b.id = `tab-${t.id}`;
      b.setAttribute('role', 'tab');
      b.dataset.tab = t.id;
      b.addEventListener('click', () => this.openTab(t.id));
      tabs.append(b);
      this.tabButtons[t.id] = b;
      const body = make('div', 'view-body');
      body.id = `view-${t.id}`;
      body.setAttribute('role', 'tabpanel');
      body.setAttribute('aria-labelledby', b.id);
      this.bodies[t.id] = body;
    }
    p.append(tabs, ...Object.values(this.bodies));
    this.buildHead();
    this.buildRollout();
    this.buildInside();
    this.buildValue();
    this.buildCompare();
    this.syncTabs();
  }

  buildHead() {
    const body = this.bodies.head;
    const bar = make('div', 'view-bar');
    const label = make('label');
    this.allHeadsCheck = make('input');
    this.allHeadsCheck.type = 'checkbox';
    this.allHeadsCheck.id = 'head-view-all';
    this.allHeadsCheck.addEventListener('change', () => { this.allHeads = this.allHeadsCheck.checked; this.hooks.requestDraw(); });
    label.append(this.allHeadsCheck, ' every head of the layer (a colour per head)');
    this.headNote = make('span', 'view-note');
    bar.append(label, this.headNote);
    body.append(bar);
    this.headView = new HeadView(body);
  }

  buildRollout() {
    const body = this.bodies.rollout;
    this.rolloutNote = make('p', 'hint');
    this.rolloutPair = make('div', 'pair');
    this.captureAllButton = make('button', 'capture-all');
    this.captureAllButton.type = 'button';
    this.captureAllButton.hidden = true;
    this.captureAllButton.addEventListener('click', () => {
      this.captureAll = true;
      this.hooks.requestRun();
    });
    body.append(this.rolloutNote, this.captureAllButton, this.rolloutPair);
    this.rolloutMain = new MatrixPanel(this.rolloutPair, 'rollout-main');
    this.rolloutSide = new MatrixPanel(this.rolloutPair, 'rollout-side');
  }

  buildInside() {
    const body = this.bodies.inside;
    const bar = make('div', 'view-bar');
    const label = make('label', 'temperature');
    label.htmlFor = 'temperature';
    this.temperatureText = make('span');
    this.temperatureRange = make('input');
    this.temperatureRange.type = 'range';
    this.temperatureRange.id = 'temperature';
    this.temperatureRange.min = '0';
    this.temperatureRange.max = '100';
    this.temperatureRange.value = '50';
    this.temperatureRange.addEventListener('input', () => {
      this.temperature = sliderTemperature(this.temperatureRange.value);
      this.hooks.requestDraw();
    });
    const reset = make('button', 'small', 'T = 1');
    reset.type = 'button';
    reset.addEventListener('click', () => { this.temperatureRange.value = '50'; this.temperature = 1; this.hooks.requestDraw(); });
    label.append(this.temperatureText);
    bar.append(label, this.temperatureRange, reset);
    const badge = make('p', 'display-only', 'Display only: the temperature rescales the scores shown here (softmax(s / T)); the model itself always runs at T = 1.');
    this.insideNote = make('p', 'hint');
    this.insidePair = make('div', 'pair');
    body.append(bar, badge, this.insideNote, this.insidePair);
    this.scoresPanel = new MatrixPanel(this.insidePair, 'scores');
    this.softmaxPanel = new MatrixPanel(this.insidePair, 'softmax');
  }

  buildValue() {
    const body = this.bodies.value;
    this.valueNote = make('p', 'hint');
    this.valuePair = make('div', 'pair');
    body.append(this.valueNote, this.valuePair);
    this.rawPanel = new MatrixPanel(this.valuePair, 'raw');
    this.weightedPanel = new MatrixPanel(this.valuePair, 'value-weighted');
    this.normsPanel = new MatrixPanel(body, 'value-norms');
  }

  buildCompare() {
    const body = this.bodies.compare;
    const bar = make('div', 'view-bar');
    const modelLabel = make('label', '', 'B: model ');
    this.compareModel = make('select');
    this.compareModel.id = 'compare-model';
    this.compareModel.addEventListener('change', () => this.hooks.requestDraw());
    modelLabel.append(this.compareModel);
    const textLabel = make('label', '', 'text ');
    this.compareText = make('input', 'compare-text');
    this.compareText.type = 'text';
    this.compareText.id = 'compare-text';
    this.compareText.spellcheck = false;
    this.compareText.autocomplete = 'off';
    this.compareText.addEventListener('input', () => { this.compare.text = this.compareText.value; this.hooks.requestDraw(); });
    textLabel.append(this.compareText);
    bar.append(modelLabel, textLabel);
    this.compareNote = make('p', 'hint');
    this.compareGrid = make('div', 'triple');
    body.append(bar, this.compareNote, this.compareGrid);
    this.panelA = new MatrixPanel(this.compareGrid, 'compare-a');
    this.panelB = new MatrixPanel(this.compareGrid, 'compare-b');
    this.panelDiff = new MatrixPanel(this.compareGrid, 'compare-diff');
  }

  openTab(id) {
    if (!this.bodies[id]) return;
    const before = this.runOptions();
    this.tab = id;
    this.syncTabs();
    const after = this.runOptions();
    // A view that needs scores or value norms the last run did not capture: run again.
    if ((after.scores && !before.scores) || (after.valueNorms && !before.valueNorms)) this.hooks.requestRun();
    else this.hooks.requestDraw();
  }

  syncTabs() {
    for (const [id, button] of Object.entries(this.tabButtons)) {
      const open = id === this.tab;
      button.setAttribute('aria-selected', String(open));
      this.bodies[id].hidden = !open;
    }
    this.panel.dataset.tab = this.tab;
  }

  /**
   * What the page's runs must capture for the open view. Past the engine's capture limit a
   * run records one layer of each kind; rollout needs them all, so it can ask for every layer.
   */
  runOptions() {
    return {
      scores: this.tab === 'inside',
      valueNorms: this.tab === 'value',
      ...(this.captureAll ? { captureLimit: 0 } : {}),
    };
  }

  /** A new model: back to the bounded capture. */
  resetCapture() {
    this.captureAll = false;
  }

  // ---- ablation -------------------------------------------------------------------------

  setAblations(list) {
    const model = this.hooks.getModel();
    if (!model) return;
    this.hooks.guard(() => {
      model.setAblations(list);
      this.hooks.requestRun();
    });
    this.renderAblation();
  }

  toggleHead(kind, layer, head) {
    const model = this.hooks.getModel();
    if (!model) return;
    const list = model.ablations();
    const at = list.findIndex((a) => a.kind === kind && a.layer === layer && a.head === head);
    if (at >= 0 && list[at].mode === this.mode) list.splice(at, 1);
    else if (at >= 0) list[at].mode = this.mode;
    else list.push({ kind, layer, head, mode: this.mode });
    this.setAblations(list);
  }

  renderAblation() {
    const model = this.hooks.getModel();
    const info = this.context?.info;
    if (!model || !info || !model.alive) return;
    const kinds = kindsOf(info);
    if (!kinds.includes(this.ablationKind)) this.ablationKind = this.context.state.kind;
    // Everything below depends only on these: skip it when none changed (every keystroke
    // calls this, and rewriting the buttons' attributes makes the browser restyle them).
    const list = model.ablations();
    const grid = document.getElementById('head-grid');
    const key = JSON.stringify([kinds, info.config, this.ablationKind, this.context.state.kind, list, grid?.dataset.built]);
    if (key === this.ablationKey) return;
    this.ablationKey = key;
    const signature = kinds.join(',');
    if (this.ablateKind.dataset.signature !== signature) {
      this.ablateKind.replaceChildren(...kinds.map((k) => new Option(kindLabel(k, info), k)));
      this.ablateKind.dataset.signature = signature;
    }
    this.ablateKind.value = this.ablationKind;
    this.ablateKind.hidden = kinds.length < 2;
    const kind = this.ablationKind;
    const layers = layersOf(kind, info);
    const heads = info.config.nhead;
    const shape = `${kind}:${layers}x${heads}`;
    if (this.ablateGrid.dataset.shape !== shape) {
      this.ablateGrid.replaceChildren();
      this.ablateGrid.dataset.shape = shape;
      this.ablateGrid.dataset.heads = String(heads);
      for (let l = 0; l < layers; l++) {
        this.ablateGrid.append(make('span', 'ablate-layer', `L${l + 1}`));
        for (let h = 0; h < heads; h++) {
          const b = make('button', 'ablate-head', `H${h + 1}`);
          b.type = 'button';
          b.dataset.layer = String(l);
          b.dataset.head = String(h);
          b.addEventListener('click', () => this.toggleHead(kind, l, h));
          this.ablateGrid.append(b);
        }
      }
    }
    for (const b of this.ablateGrid.querySelectorAll('.ablate-head')) {
      const a = list.find((x) => x.kind === kind && x.layer === Number(b.dataset.layer) && x.head === Number(b.dataset.head));
      b.dataset.mode = a ? a.mode : '';
      b.setAttribute('aria-pressed', String(!!a));
      b.setAttribute('aria-label', `${kindLabel(kind, info)}, layer ${Number(b.dataset.layer) + 1}, head ${Number(b.dataset.head) + 1}${a ? `: ablated (${a.mode})` : ''}`);
    }
    this.resetButton.disabled = list.length === 0;

    // The marker above the output, and on the page's all-heads grid.
    const short = { encoderSelf: info.config.architecture === 'seq2seq' ? 'enc' : 'self', decoderSelf: 'dec', cross: 'cross' };
    this.banner.hidden = list.length === 0;
    document.body.dataset.ablated = String(list.length);
    if (list.length) {
      const text = make('span', '', `Ablated (${list.length}): ${list.map((a) => `${short[a.kind]} L${a.layer + 1} H${a.head + 1} ${a.mode}`).join(', ')}. Output and heatmaps are of the ablated model.`);
      const reset = make('button', 'ablate-reset', 'Reset');
      reset.type = 'button';
      reset.addEventListener('click', () => this.setAblations([]));
      this.banner.replaceChildren(text, reset);
    } else {
      this.banner.replaceChildren();
    }
    const shown = this.context.state.kind;
    for (const thumb of document.querySelectorAll('#head-grid .thumb')) {
      const a = list.find((x) => x.kind === shown && x.layer === Number(thumb.dataset.layer) && x.head === Number(thumb.dataset.head));
      thumb.classList.toggle('ablated', !!a);
      if (a) thumb.dataset.ablation = a.mode;
      else delete thumb.dataset.ablation;
    }
  }

  // ---- per draw ---------------------------------------------------------------------------

  /**
   * context: { result, info, state, axes: { rows, cols } (tokens of the current kind),
   * rowIndex, colIndex (the positions shown), table (colour LUT), text (the run's text) }.
   * result null: nothing to show (the views keep their last picture, the ablation stays usable).
   */
  update(context) {
    this.context = context;
    this.renderAblation();
    if (!context.result) return;
    this.behind = !this.onScreen;
    if (this.behind) return;
    switch (this.tab) {
      case 'head': this.drawHead(); break;
      case 'rollout': this.drawRollout(); break;
      case 'inside': this.drawInside(); break;
      case 'value': this.drawValue(); break;
      case 'compare': this.drawCompare(); break;
      default: break;
    }
  }

  /** The shown part of a [rows][cols] matrix of the current kind (hidden padding left out). */
  shown(matrix, cols) {
    const { rowIndex, colIndex, result, state } = this.context;
    const full = result[state.kind];
    if (rowIndex.length === full.rows && colIndex.length === full.cols) return matrix;
    return gather(matrix, cols, rowIndex, colIndex, new Float32Array(rowIndex.length * colIndex.length));
  }

  tokens() {
    const { axes, rowIndex, colIndex } = this.context;
    return { rowTokens: rowIndex.map((i) => axes.rows[i]), colTokens: colIndex.map((i) => axes.cols[i]) };
  }

  where(head = this.context.state.head) {
    const { state, info } = this.context;
    return `${kindLabel(state.kind, info)}, layer ${state.layer + 1}, ${head === HEAD_AVERAGE ? 'average of the heads' : `head ${head + 1}`}`;
  }

  drawHead() {
    const { result, state } = this.context;
    const attention = result[state.kind];
    const heads = this.allHeads || state.head === HEAD_AVERAGE
      ? Array.from({ length: attention.heads }, (_, h) => h)
      : [state.head];
    const { rowTokens, colTokens } = this.tokens();
    const note = heads.length > 1 ? `${this.where(HEAD_AVERAGE).replace('average of the heads', 'all heads')}` : this.where();
    if (this.headNote.textContent !== note) this.headNote.textContent = note;
    this.headView.update({
      heads: heads.map((h) => ({ head: h, matrix: this.shown(attention.head(state.layer, h), attention.cols) })),
      rows: rowTokens.length, cols: colTokens.length, rowTokens, colTokens, title: this.where(),
    });
  }

  drawRollout() {
    const { result, info, state, table } = this.context;
    const seq2seq = info.config.architecture === 'seq2seq';
    const { pad } = this.context;
    const srcIndex = result.srcTokens.map((_, i) => i).filter((i) => state.showPadding || result.srcTokens[i] !== pad);
    const srcTokens = srcIndex.map((i) => result.srcTokens[i]);
    const pick = (matrix, cols, rows, colIdx) => gather(matrix, cols, rows, colIdx, new Float32Array(rows.length * colIdx.length));
    const needed = (seq2seq ? [result.encoderSelf, result.decoderSelf, result.cross] : [result.encoderSelf]).filter(Boolean);
    const partial = needed.filter((attention) => !attention.complete);
    this.rolloutPair.hidden = partial.length > 0;
    this.captureAllButton.hidden = partial.length === 0;
    if (partial.length) {
      const floats = needed.reduce((sum, a) => sum + a.layers * a.heads * a.rows * a.cols, 0);
      this.rolloutNote.textContent = 'Rollout multiplies the attention of every layer, but this text is long enough that the run recorded one layer of each kind only (see the notice above).';
      this.captureAllButton.textContent = `Record every layer (${(floats * 4 / 2 ** 20).toFixed(1)} MiB) and show the rollout`;
      return;
    }
    if (!seq2seq) {
      const enc = result.encoderSelf;
      const upTo = state.layer;
      const r = rolloutSelf(enc, upTo);
      this.rolloutNote.textContent = `Rollout (Abnar & Zuidema 2020): each layer's head average plus the identity (the residual), rows renormalised, multiplied through layers 1–${upTo + 1}. Row i: how much of position i comes from each input token. Pick the layer above.`;
      this.rolloutMain.update({ matrix: pick(r, enc.cols, srcIndex, srcIndex), rows: srcIndex.length, cols: srcIndex.length, rowTokens: srcTokens, colTokens: srcTokens, table,
        title: `Rollout through layer ${upTo + 1} of ${enc.layers}`, legendCaption: 'share of the input token', low: 0 });
      this.rolloutSide.figure.hidden = true;
      return;
    }
    const s2s = rolloutSeq2seq(result);
    const tgtIndex = result.tgtTokens.map((_, i) => i);
    this.rolloutNote.textContent = 'Rollout (Abnar & Zuidema 2020) per kind: head average + identity, rows renormalised, multiplied through the layers. Output → source = R_dec · (cross-attention averaged over layers and heads) · R_enc: for each decoder position, which source tokens what it read from the source comes from.';
    this.rolloutSide.figure.hidden = false;
    this.rolloutMain.update({ matrix: pick(s2s.source, result.srcTokens.length, tgtIndex, srcIndex), rows: tgtIndex.length, cols: srcIndex.length,
      rowTokens: result.tgtTokens, colTokens: srcTokens, table, title: 'Output → source (decoder inputs × source tokens)', legendCaption: 'share of the source token', low: 0 });
    this.rolloutSide.update({ matrix: pick(s2s.encoder, result.srcTokens.length, srcIndex, srcIndex), rows: srcIndex.length, cols: srcIndex.length,
      rowTokens: srcTokens, colTokens: srcTokens, table, title: `Encoder rollout R_enc (${result.encoderSelf.layers} layers)`, legendCaption: 'share of the source token', low: 0 });
  }

  drawInside() {
    const { result, state, table } = this.context;
    const kindScores = result.scores?.[state.kind];
    const head = state.head === HEAD_AVERAGE ? 0 : state.head;
    this.temperatureText.textContent = `Temperature T = ${this.temperature.toFixed(2)}`;
    if (!kindScores) {
      this.insideNote.textContent = 'Capturing the scores…';
      this.hooks.requestRun();
      return;
    }
    const attention = result[state.kind];
    const scores = headBlock(kindScores, state.layer, head);
    const soft = softmaxRows(scores, kindScores.rows, kindScores.cols, this.temperature);
    const shownScores = this.shown(scores, kindScores.cols);
    const shownSoft = this.shown(soft, kindScores.cols);
    const { rowTokens, colTokens } = this.tokens();
    const ablation = this.hooks.getModel()?.ablations().find((a) => a.kind === state.kind && a.layer === state.layer && a.head === head);
    const range = finiteRange(shownScores);
    this.insideNote.textContent = `${this.where(head)}${state.head === HEAD_AVERAGE ? ' (the head average has no single score matrix: showing head 1)' : ''}. ` +
      `Left: q·k / √d_head before the softmax, masked positions (causal, padding) hatched. Right: softmax(scores / T) row by row` +
      `${Math.abs(this.temperature - 1) < 1e-9 ? ', which at T = 1 is the model\'s attention.' : '.'}` +
      `${ablation ? ` This head is ablated (${ablation.mode}): the model uses ${ablation.mode === 'zero' ? 'no output from it' : 'a uniform pattern'} instead of this softmax.` : ''}`;
    const n = rowTokens.length;
    const m = colTokens.length;
    this.scoresPanel.update({ matrix: shownScores, rows: n, cols: m, rowTokens, colTokens, table, low: range.low, high: range.high,
      title: 'Scores q·k / √d_head (pre-softmax)', legendCaption: 'score', valueLabel: 'score' });
    this.softmaxPanel.update({ matrix: shownSoft, rows: n, cols: m, rowTokens, colTokens, table, low: 0,
      title: `softmax(scores / ${this.temperature.toFixed(2)})`, legendCaption: 'weight at this temperature (display only)' });
    this.bodies.inside.dataset.temperature = this.temperature.toFixed(3);
  }

  drawValue() {
    const { result, state, table } = this.context;
    const norms = result.valueNorms?.[state.kind];
    if (!norms) {
      this.valueNote.textContent = 'Capturing the value norms…';
      this.hooks.requestRun();
      return;
    }
    const attention = result[state.kind];
    const weighted = valueWeighted(attention, norms, state.layer, state.head);
    const raw = state.head === HEAD_AVERAGE ? valueWeighted(attention, { ...norms, data: new Float32Array(norms.data.length).fill(1) }, state.layer, -1) : attention.head(state.layer, state.head);
    const normRow = valueNormRow(norms, state.layer, state.head);
    const { rowTokens, colTokens } = this.tokens();
    const { colIndex } = this.context;
    this.valueNote.textContent = `${this.where()}. Right: ‖a_ij · v_j W_O‖ = a_ij · ‖v_j W_O‖ (Kobayashi et al. 2020), what key j really adds to query i through this head; a large weight on a key with a small value vector moves little. Below: ‖v_j W_O‖ per key.`;
    this.rawPanel.update({ matrix: this.shown(raw, attention.cols), rows: rowTokens.length, cols: colTokens.length, rowTokens, colTokens, table, low: 0,
      title: 'Attention a_ij', legendCaption: 'attention weight' });
    this.weightedPanel.update({ matrix: this.shown(weighted, attention.cols), rows: rowTokens.length, cols: colTokens.length, rowTokens, colTokens, table, low: 0,
      title: 'Value-weighted a_ij · ‖v_j W_O‖', legendCaption: 'norm of the weighted value', valueLabel: 'norm' });
    const row = Float32Array.from(colIndex, (c) => normRow[c]);
    this.normsPanel.update({ matrix: row, rows: 1, cols: colTokens.length, rowTokens: ['‖v W_O‖'], colTokens, table, low: 0,
      title: 'Value norms ‖v_j W_O‖ per key', legendCaption: 'norm', valueLabel: 'norm' });
  }

  // ---- compare ----------------------------------------------------------------------------

  syncCompareModels() {
    const manifest = this.hooks.getManifest();
    const signature = manifest.map((e) => e.id).join('|');
    if (this.compareModel.dataset.signature !== signature) {
      this.compareModel.replaceChildren(...manifest.map((e) => new Option(e.title, e.id)));
      this.compareModel.dataset.signature = signature;
      const current = this.hooks.getEntry();
      if (current?.id) this.compareModel.value = current.id;
    }
  }

  /** The B model for the chosen entry, loading it (asynchronously) when it changes. */
  compareModelFor(entry) {
    const c = this.compare;
    if (c.model && c.entryId === entry.id && c.model.alive) return c.model;
    if (c.loading === entry.id) return null;
    c.loading = entry.id;
    (async () => {
      try {
        const model = await loadModel(await fetchWeights(entry));
        if (c.model && c.model.alive) c.model.dispose();
        c.model = model;
        c.entryId = entry.id;
        c.error = '';
      } catch (error) {
        c.error = `Could not load ${entry.title}: ${error.message}`;
      } finally {
        c.loading = null;
        this.hooks.requestDraw();
      }
    })();
    return null;
  }

  drawCompare() {
    const { result, info, state, table, text } = this.context;
    this.syncCompareModels();
    if (this.compare.text === null) {
      this.compare.text = text;
      this.compareText.value = text;
    }
    const manifest = this.hooks.getManifest();
    const entry = manifest.find((e) => e.id === this.compareModel.value);
    if (!entry) {
      this.compareNote.textContent = 'No model to compare with.';
      return;
    }
    const model = this.compareModelFor(entry);
    if (!model) {
      this.compareNote.textContent = this.compare.error || `Loading ${entry.title}…`;
      return;
    }
    const bInfo = model.info();
    if (!kindsOf(bInfo).includes(state.kind)) {
      this.compareNote.textContent = `${entry.title} has no ${kindLabel(state.kind, info)}: pick another model or kind.`;
      return;
    }
    // B's layer: this page's, or B's last when it has fewer (the one B records if it can keep one).
    const layer = Math.min(state.layer, layersOf(state.kind, bInfo) - 1);
    let b;
    try {
      const kept = { captureLayers: { [state.kind]: layer } };
      b = model.run(this.compare.text, bInfo.config.architecture === 'seq2seq' ? kept : { ...kept, continuation: LM_CONTINUATION });
    } catch (error) {
      if (error.engineAborted) throw error;
      this.compareNote.textContent = `B: ${error.message}`;
      return;
    }
    const a = result[state.kind];
    const bAtt = b[state.kind];
    const headOf = (att, l, h) => {
      if (h !== HEAD_AVERAGE && h < att.heads) return att.head(l, h);
      const out = new Float32Array(att.rows * att.cols);
      for (let k = 0; k < att.heads; k++) {
        const m = att.head(l, k);
        for (let i = 0; i < out.length; i++) out[i] += m[i] / att.heads;
      }
      return out;
    };
    const matA = headOf(a, state.layer, state.head);
    const matB = headOf(bAtt, layer, state.head).slice();
    const axesB = state.kind === 'encoderSelf' ? [b.srcTokens, b.srcTokens] : state.kind === 'decoderSelf' ? [b.tgtTokens, b.tgtTokens] : [b.tgtTokens, b.srcTokens];
    const axesA = [this.context.axes.rows, this.context.axes.cols];
    const rows = Math.min(a.rows, bAtt.rows);
    const cols = Math.min(a.cols, bAtt.cols);
    const diff = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) diff[r * cols + c] = matA[r * a.cols + c] - matB[r * bAtt.cols + c];
    const same = (x, y) => x.length === y.length && x.every((t, i) => t === y[i]);
    const label = (ta, tb, n) => Array.from({ length: n }, (_, i) => (ta[i] === tb[i] ? ta[i] : `${ta[i]}|${tb[i]}`));
    const sameShape = rows === a.rows && rows === bAtt.rows && cols === a.cols && cols === bAtt.cols;
    this.compareNote.textContent = `A: this page (${this.hooks.getEntry()?.title}, “${text}”${this.hooks.getModel()?.ablations().length ? ', ablated' : ''}). ` +
      `B: ${entry.title}, “${this.compare.text}” (no ablations). Both at ${this.where()}${layer !== state.layer ? ` (B has ${bAtt.layers} layers: its layer ${layer + 1})` : ''}. ` +
      `${sameShape && same(axesA[0], axesB[0]) && same(axesA[1], axesB[1]) ? 'Same tokens: the difference compares like with like.' : `The inputs differ: the difference is position by position over the first ${rows} × ${cols}; labels a|b where the tokens differ.`}`;
    this.panelA.update({ matrix: matA, rows: a.rows, cols: a.cols, rowTokens: axesA[0], colTokens: axesA[1], table, low: 0, title: 'A (this page)', legendCaption: 'weight' });
    this.panelB.update({ matrix: matB, rows: bAtt.rows, cols: bAtt.cols, rowTokens: axesB[0], colTokens: axesB[1], table, low: 0, title: `B (${entry.title})`, legendCaption: 'weight' });
    this.panelDiff.update({ matrix: diff, rows, cols, rowTokens: label(axesA[0], axesB[0], rows), colTokens: label(axesA[1], axesB[1], cols), table: DIVERGING, diverging: true,
      title: 'A − B', legendCaption: 'difference (red: A higher, blue: B higher)', valueLabel: 'difference' });
    this.bodies.compare.dataset.output = b.output;
  }
}
