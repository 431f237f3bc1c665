// The head view (after BertViz): queries in a left column, keys in a right column, a line from
// query i to key j whose opacity is the weight a_ij. One head, or every head of the layer at
// once with a colour per head. Hovering a token keeps only its lines (a query's outgoing or a
// key's incoming ones); the readout lists its strongest links.

import { THEME, contentWidth, fitText, formatWeight, sizeCanvas, tokenLabel } from './draw.js';

// Categorical colours (Tableau 10), one per head.
export const HEAD_COLOURS = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7', '#9c755f', '#bab0ac'];

const ROW = 20;  // px per token
const HOVER_HINT = 'Hover a token to see only its lines.';

export class HeadView {
  constructor(parent) {
    this.root = document.createElement('div');
    this.root.className = 'head-view';
    this.legend = document.createElement('div');
    this.legend.className = 'head-legend';
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'head-canvas';
    this.canvas.setAttribute('role', 'img');
    this.readout = document.createElement('p');
    this.readout.className = 'mpanel-readout';
    this.readout.setAttribute('aria-live', 'polite');
    this.root.append(this.legend, this.canvas, this.readout);
    parent.appendChild(this.root);
    this.view = null;
    this.hover = null;   // { side: 'query' | 'key', index }
    this.draws = 0;
    this.canvas.addEventListener('mousemove', (e) => this.onMove(e));
    this.canvas.addEventListener('mouseleave', () => { this.setHover(null); });
  }

  /**
   * view: { heads: [{ head, matrix: Float32Array [rows][cols] }], rows, cols, rowTokens,
   * colTokens, title }: one entry in heads draws one head (in the accent colour), several
   * draw each in its own colour with opacity weight / sqrt(count) so overlaps stay readable.
   */
  update(view) {
    this.view = view;
    if (this.hover && this.hover.index >= (this.hover.side === 'query' ? view.rows : view.cols)) this.hover = null;
    if (view.heads.length > 1 || this.legend.firstChild) this.legend.replaceChildren(...(view.heads.length > 1 ? view.heads.map(({ head }) => {
      const chip = document.createElement('span');
      chip.className = 'head-chip';
      chip.textContent = `H${head + 1}`;
      chip.dataset.colour = String(head % HEAD_COLOURS.length);
      return chip;
    }) : []));
    this.redraw();
    if (!this.hover && this.readout.textContent !== HOVER_HINT) this.readout.textContent = HOVER_HINT;
  }

  geometry() {
    const width = Math.max(260, Math.min(560, contentWidth(this.root) || 480));
    const height = 24 + Math.max(this.view.rows, this.view.cols) * ROW;
    return { width, height, leftX: width * 0.3, rightX: width * 0.7, top: 20 };
  }

  redraw() {
    const view = this.view;
    if (!view) return;
    const g = this.geometry();
    this.g = g;
    const ctx = sizeCanvas(this.canvas, g.width, g.height);
    const y = (i) => g.top + (i + 0.5) * ROW;
    const single = view.heads.length === 1;
    const boost = single ? 1 : 1 / Math.sqrt(view.heads.length);
    ctx.lineWidth = 2;
    let drawn = 0;
    for (const { head, matrix } of view.heads) {
      const colour = single ? '#3250c8' : HEAD_COLOURS[head % HEAD_COLOURS.length];
      ctx.strokeStyle = colour;
      for (let r = 0; r < view.rows; r++) {
        if (this.hover?.side === 'query' && this.hover.index !== r) continue;
        for (let c = 0; c < view.cols; c++) {
          if (this.hover?.side === 'key' && this.hover.index !== c) continue;
          const w = matrix[r * view.cols + c];
          if (!(w > 0.004)) continue;
          ctx.globalAlpha = Math.min(1, w * boost * (this.hover ? 1.4 : 1));
          ctx.beginPath();
          ctx.moveTo(g.leftX + 4, y(r));
          ctx.lineTo(g.rightX - 4, y(c));
          ctx.stroke();
          drawn += 1;
        }
      }
    }
    ctx.globalAlpha = 1;
    ctx.font = `13px ${THEME.mono}`;
    ctx.textBaseline = 'middle';
    const label = (tokens, i, x, align, side) => {
      const active = this.hover?.side === side && this.hover.index === i;
      ctx.fillStyle = active ? THEME.focus : THEME.text;
      ctx.font = `${active ? 'bold ' : ''}13px ${THEME.mono}`;
      ctx.textAlign = align;
      ctx.fillText(fitText(ctx, tokenLabel(tokens[i]), g.leftX - 16), x, y(i));
    };
    for (let r = 0; r < view.rows; r++) label(view.rowTokens, r, g.leftX - 8, 'right', 'query');
    for (let c = 0; c < view.cols; c++) label(view.colTokens, c, g.rightX + 8, 'left', 'key');
    ctx.fillStyle = THEME.muted;
    ctx.font = `600 11px ${THEME.font}`;
    ctx.textAlign = 'right';
    ctx.fillText('queries', g.leftX - 8, 8);
    ctx.textAlign = 'left';
    ctx.fillText('keys', g.rightX + 8, 8);
    this.draws += 1;
    Object.assign(this.canvas.dataset, { draws: String(this.draws), lines: String(drawn), rows: String(view.rows), cols: String(view.cols) });
    this.canvas.setAttribute('aria-label', `${view.title}: lines from ${view.rows} queries to ${view.cols} keys, opacity = weight`);
  }

  setHover(hover) {
    const same = hover?.side === this.hover?.side && hover?.index === this.hover?.index;
    if (same) return;
    this.hover = hover;
    this.redraw();
    if (!hover) {
      this.readout.textContent = 'Hover a token to see only its lines.';
      return;
    }
    const view = this.view;
    const links = [];
    for (const { head, matrix } of view.heads) {
      const n = hover.side === 'query' ? view.cols : view.rows;
      for (let k = 0; k < n; k++) {
        const w = hover.side === 'query' ? matrix[hover.index * view.cols + k] : matrix[k * view.cols + hover.index];
        links.push({ head, k, w });
      }
    }
    links.sort((a, b) => b.w - a.w);
    const other = hover.side === 'query' ? view.colTokens : view.rowTokens;
    const tokens = hover.side === 'query' ? view.rowTokens : view.colTokens;
    const top = links.slice(0, 3).map((l) => `${view.heads.length > 1 ? `H${l.head + 1} ` : ''}“${tokenLabel(other[l.k])}” ${formatWeight(l.w)}`);
    this.readout.textContent = `${hover.side} “${tokenLabel(tokens[hover.index])}”: strongest ${hover.side === 'query' ? 'keys' : 'queries'} ${top.join(', ')}`;
  }

  onMove(event) {
    if (!this.view || !this.g) return;
    const box = this.canvas.getBoundingClientRect();
    const x = event.clientX - box.left;
    const i = Math.floor((event.clientY - box.top - this.g.top) / ROW);
    let hover = null;
    if (x < this.g.leftX + 10 && i >= 0 && i < this.view.rows) hover = { side: 'query', index: i };
    else if (x > this.g.rightX - 10 && i >= 0 && i < this.view.cols) hover = { side: 'key', index: i };
    this.setHover(hover);
  }
}
