// <attn-view>: a live attention view for any HTML page, from one script tag.
//
//   <script type="module" src="https://your.site/attnviz/attn-view.js"></script>
//   <attn-view model="weights/piglatin.weights.json" text="glove" kind="cross" layer="3" head="avg"></attn-view>
//
// Attributes (all live: change one and the view follows):
//   model     URL of a weights file (docs/weights-format.md), relative to the page
//   text      the input; `editable` adds an input box so readers can type their own
//   kind      enc | dec | cross (seq2seq; a causal LM has only enc, its self-attention)
//   layer     1-based (default 1); head: 1-based or avg (default 1)
//   view      heatmap (default) | head (BertViz-style lines) | rollout | value (a_ij * ||v_j W_O||)
//   colormap  viridis | magma | plasma | blues | greys
// Every element on a page shares one engine instance (wasm/attnviz.js) and each weights file is
// fetched once; each element has its own model handle, so their runs never disturb each other.
// After each run the element fires `attn-view-update` with detail { output, srcTokens,
// tgtTokens, kind, layer, head, rows, cols, rowTokens, colTokens, matrix (a Float32Array copy) }
// and sets data-ready="1"; on an error, `attn-view-error` with detail { message }.
// Works under `default-src 'self'; script-src 'self' 'wasm-unsafe-eval'`: no inline styles
// (a constructed stylesheet), no eval.

import { loadModel } from './attnviz.js';
import { colormapTable } from './js/colormaps.js';
import { HeadView } from './js/head-view.js';
import { valueWeighted } from './js/head-math.js';
import { MatrixPanel } from './js/matrix-panel.js';
import { rolloutSelf, rolloutSeq2seq } from './js/rollout.js';

const KIND = { enc: 'encoderSelf', dec: 'decoderSelf', cross: 'cross', encoderSelf: 'encoderSelf', decoderSelf: 'decoderSelf' };
const KIND_TITLE = { encoderSelf: 'encoder self-attention', decoderSelf: 'decoder self-attention', cross: 'cross-attention' };
const LM_CONTINUATION = 8;

const CSS = `
:host { display: block; max-width: 620px; font: 14px/1.4 system-ui, sans-serif; color: #1d2433;
  border: 1px solid #dde1e8; border-radius: 10px; padding: 10px 12px; background: #fff; box-sizing: border-box; }
:host([hidden]) { display: none; }
.title { font-weight: 600; font-size: 13px; margin: 0 0 6px; }
.title span { color: #5b6478; font-weight: 400; }
input { width: 100%; box-sizing: border-box; font: 16px ui-monospace, monospace; padding: 6px 8px; border: 1px solid #dde1e8; border-radius: 6px; }
.output { font: 14px ui-monospace, monospace; margin: 6px 0; }
.output b { color: #3250c8; font-weight: 600; }
.error { color: #b42318; background: #fdecea; border-radius: 6px; padding: 4px 8px; margin: 6px 0; }
.mpanel { margin: 0; }
.mpanel-title { font-size: 12px; font-weight: 600; margin-bottom: 4px; }
.mpanel-canvas, .head-canvas { display: block; max-width: 100%; }
.mpanel-readout { font: 12px ui-monospace, monospace; background: #f6f7fa; border-radius: 6px; padding: 4px 8px; margin: 4px 0 0; min-height: 2.6em; }
.head-legend { display: flex; flex-wrap: wrap; gap: 4px; margin: 4px 0; }
.head-chip { font: 11px ui-monospace, monospace; padding: 1px 6px; border-radius: 4px; background: #5b6478; color: #fff; }
[hidden] { display: none !important; }
`;

let sheet = null;
function styleSheet() {
  if (!sheet) {
    sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS);
  }
  return sheet;
}

const weightCache = new Map();  // absolute URL -> Promise<ArrayBuffer>
function weightsAt(url) {
  if (!weightCache.has(url)) {
    weightCache.set(url, fetch(url).then((r) => {
      if (!r.ok) throw new Error(`${url} could not be fetched (HTTP ${r.status})`);
      return r.arrayBuffer();
    }));
    weightCache.get(url).catch(() => weightCache.delete(url));
  }
  return weightCache.get(url);
}

function make(tag, className) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  return node;
}

export class AttnView extends HTMLElement {
  static get observedAttributes() { return ['model', 'text', 'kind', 'layer', 'head', 'view', 'colormap', 'editable']; }

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    root.adoptedStyleSheets = [styleSheet()];
    this.titleLine = make('p', 'title');
    this.input = make('input');
    this.input.type = 'text';
    this.input.spellcheck = false;
    this.input.setAttribute('aria-label', 'Input text');
    this.input.addEventListener('input', () => { this._text = this.input.value; this.schedule(); });
    this.outputLine = make('p', 'output');
    this.errorLine = make('p', 'error');
    this.errorLine.setAttribute('role', 'alert');
    this.body = make('div', 'body');
    root.append(this.titleLine, this.input, this.outputLine, this.errorLine, this.body);
    this.model = null;
    this.modelUrl = null;
    this.loading = null;
    this.result = null;
    this.panel = null;
    this.headView = null;
    this._text = null;
    this.pending = false;
  }

  connectedCallback() {
    this.schedule();
    if (!this.resizer) {
      // Redrawn in the next frame: the views read their widths from draw.js's own observer,
      // whose callback may come after this one.
      this.resizer = new ResizeObserver(() => requestAnimationFrame(() => { this.panel?.redraw(); this.headView?.redraw(); }));
      this.resizer.observe(this);
    }
  }

  disconnectedCallback() {
    this.resizer?.disconnect();
    this.resizer = null;
    if (this.model?.alive) this.model.dispose();
    this.model = null;
    this.modelUrl = null;
  }

  attributeChangedCallback(name) {
    if (name === 'text') this._text = null;
    this.schedule();
  }

  /** The text shown: what the reader typed (editable), else the text attribute. */
  get text() { return this._text ?? this.getAttribute('text') ?? ''; }
  set text(value) { this.setAttribute('text', String(value)); }

  /** The latest run's detail (as in attn-view-update), or null. */
  get current() { return this.detail ?? null; }

  schedule() {
    if (this.pending) return;
    this.pending = true;
    queueMicrotask(() => {
      this.pending = false;
      this.render().catch((error) => this.fail(error));
    });
  }

  fail(error) {
    this.errorLine.hidden = false;
    this.errorLine.textContent = error.message || String(error);
    this.dispatchEvent(new CustomEvent('attn-view-error', { detail: { message: this.errorLine.textContent } }));
  }

  async ensureModel() {
    const attr = this.getAttribute('model');
    if (!attr) throw new Error('<attn-view> needs a model="…weights.json" attribute');
    const url = new URL(attr, document.baseURI).href;
    if (this.model?.alive && this.modelUrl === url) return this.model;
    if (this.loading?.url === url) return this.loading.promise;
    const promise = (async () => {
      const model = await loadModel(await weightsAt(url));
      if (this.model?.alive) this.model.dispose();
      this.model = model;
      this.modelUrl = url;
      return model;
    })();
    this.loading = { url, promise };
    try {
      return await promise;
    } finally {
      if (this.loading?.promise === promise) this.loading = null;
    }
  }

  async render() {
    const model = await this.ensureModel();
    const info = model.info();
    const seq2seq = info.config.architecture === 'seq2seq';
    const editable = this.hasAttribute('editable');
    this.input.hidden = !editable;
    if (editable && this.input.value !== this.text) this.input.value = this.text;
    const kind = seq2seq ? KIND[this.getAttribute('kind') ?? 'enc'] ?? 'encoderSelf' : 'encoderSelf';
    const view = ['heatmap', 'head', 'rollout', 'value'].includes(this.getAttribute('view')) ? this.getAttribute('view') : 'heatmap';
    const layers = kind === 'encoderSelf' ? info.config.num_encoder_layers : info.config.num_decoder_layers;
    const layer = Math.min(layers, Math.max(1, Number.parseInt(this.getAttribute('layer') ?? '1', 10) || 1)) - 1;
    const headAttr = this.getAttribute('head') ?? '1';
    const head = headAttr === 'avg' ? -1 : Math.min(info.config.nhead, Math.max(1, Number.parseInt(headAttr, 10) || 1)) - 1;
    const table = colormapTable(this.getAttribute('colormap') || 'viridis');

    let result;
    try {
      result = model.run(this.text, { ...(seq2seq ? {} : { continuation: LM_CONTINUATION }), valueNorms: view === 'value' });
    } catch (error) {
      if (error.engineAborted) {
        this.model = null;  // the next render loads it into a fresh engine
        throw new Error(`the engine stopped (${error.reason}); change the text to try again`);
      }
      throw error;
    }
    this.errorLine.hidden = true;
    const attention = result[kind];
    const rowTokens = kind === 'encoderSelf' ? result.srcTokens : result.tgtTokens;
    const colTokens = kind === 'decoderSelf' ? result.tgtTokens : result.srcTokens;
    const name = info.metadata?.title || info.metadata?.name || this.getAttribute('model').split('/').pop().replace(/\.weights\.json$|\.json$/, '');
    const where = `${seq2seq ? KIND_TITLE[kind] : 'self-attention'}, layer ${layer + 1}, ${head < 0 ? 'head average' : `head ${head + 1}`}`;
    const viewName = { heatmap: '', head: ' · head view', rollout: ' · rollout', value: ' · value-weighted' }[view];
    this.titleLine.replaceChildren(document.createTextNode(`${name} `), Object.assign(make('span'), { textContent: `${where}${viewName}` }));
    const out = make('b');
    out.textContent = result.output;
    this.outputLine.replaceChildren(document.createTextNode(seq2seq ? '→ ' : `${this.text}`), out);

    const headMatrix = (h) => {
      if (h >= 0) return attention.head(layer, h).slice();
      const m = new Float32Array(attention.rows * attention.cols);
      for (let k = 0; k < attention.heads; k++) {
        const block = attention.head(layer, k);
        for (let i = 0; i < m.length; i++) m[i] += block[i] / attention.heads;
      }
      return m;
    };
    let matrix = headMatrix(head);
    let rows = attention.rows;
    let cols = attention.cols;
    let shownRows = rowTokens;
    let shownCols = colTokens;
    if (view === 'head') {
      this.showPanel(false);
      const heads = head < 0 ? Array.from({ length: attention.heads }, (_, h) => h) : [head];
      this.headView.update({ heads: heads.map((h) => ({ head: h, matrix: headMatrix(h) })), rows, cols, rowTokens, colTokens, title: where });
    } else {
      this.showPanel(true);
      let title = where;
      let caption = 'attention weight';
      if (view === 'rollout') {
        if (seq2seq) {
          matrix = rolloutSeq2seq(result).source;
          rows = result.tgtTokens.length;
          cols = result.srcTokens.length;
          shownRows = result.tgtTokens;
          shownCols = result.srcTokens;
          title = 'Rollout: output → source tokens';
        } else {
          matrix = rolloutSelf(attention, layer);
          title = `Rollout through layer ${layer + 1}`;
        }
        caption = 'share of the input token';
      } else if (view === 'value') {
        matrix = valueWeighted(attention, result.valueNorms[kind], layer, head).slice();
        title = `${where}: a_ij · ‖v_j W_O‖`;
        caption = 'norm of the weighted value';
      }
      this.panel.update({ matrix, rows, cols, rowTokens: shownRows, colTokens: shownCols, table, title, legendCaption: caption, low: 0 });
    }
    this.detail = {
      output: result.output, srcTokens: result.srcTokens, tgtTokens: result.tgtTokens ?? null,
      kind, layer: layer + 1, head: head < 0 ? 'avg' : head + 1, view, rows, cols,
      rowTokens: shownRows, colTokens: shownCols, matrix: Float32Array.from(matrix),
    };
    this.dataset.ready = '1';
    this.dispatchEvent(new CustomEvent('attn-view-update', { detail: this.detail }));
  }

  showPanel(matrixView) {
    if (matrixView && !this.panel) this.panel = new MatrixPanel(this.body, 'attn-view');
    if (!matrixView && !this.headView) this.headView = new HeadView(this.body);
    if (this.panel) this.panel.figure.hidden = !matrixView;
    if (this.headView) this.headView.root.hidden = matrixView;
  }
}

if (!customElements.get('attn-view')) customElements.define('attn-view', AttnView);
