// A compact labelled heatmap for the analysis views (rollout, inside one head, value-weighted,
// compare) and the <attn-view> element: token labels, a legend, masked cells drawn hatched,
// an optional diverging scale (for differences), and a hover readout. Lighter than the main
// HeatmapView (no keyboard focus cell or highlight), so several fit side by side.

import { MatrixPainter, THEME, contentWidth, drawColumnLabel, drawLegend, fitText, formatWeight, sizeCanvas, tokenLabel } from './draw.js';

const MAX_CELL = 34;
const MASK_FILL = '#d9dce4';
const MASK_HATCH = '#8b93a7';

export class MatrixPanel {
  /** parent: element to append to; name: data-panel name (for tests and styling). */
  constructor(parent, name) {
    this.figure = document.createElement('figure');
    this.figure.className = 'mpanel';
    this.figure.dataset.panel = name;
    this.title = document.createElement('figcaption');
    this.title.className = 'mpanel-title';
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'mpanel-canvas';
    this.canvas.setAttribute('role', 'img');
    this.readout = document.createElement('p');
    this.readout.className = 'mpanel-readout';
    this.readout.setAttribute('aria-live', 'polite');
    this.figure.append(this.title, this.canvas, this.readout);
    parent.appendChild(this.figure);
    this.painter = new MatrixPainter();
    this.unit = null;
    this.view = null;
    this.layout = null;
    this.hover = null;
    this.draws = 0;
    this.canvas.addEventListener('mousemove', (e) => this.onMove(e));
    this.canvas.addEventListener('mouseleave', () => { this.hover = null; this.redraw(); });
  }

  /**
   * view: { matrix: Float32Array [rows][cols], rows, cols, rowTokens, colTokens, table,
   *   title, legendCaption, low?, high? (colour range; default the finite min/max),
   *   diverging? (centre 0: range +-max|v|), masked? (-Infinity entries drawn hatched),
   *   valueLabel? (readout word, default 'weight'), hint? (readout when not hovering) }
   */
  update(view) {
    this.view = view;
    this.title.textContent = view.title;
    const n = view.rows * view.cols;
    if (!this.unit || this.unit.length < n) this.unit = new Float32Array(Math.max(64, n));
    let low = Infinity;
    let high = -Infinity;
    let masked = 0;
    for (let i = 0; i < n; i++) {
      const v = view.matrix[i];
      if (!Number.isFinite(v)) { masked += 1; continue; }
      if (v < low) low = v;
      if (v > high) high = v;
    }
    if (low === Infinity) { low = 0; high = 0; }
    if (view.diverging) {
      const m = Math.max(Math.abs(low), Math.abs(high)) || 1;
      low = -m;
      high = m;
    } else {
      if (view.low !== undefined) low = view.low;
      if (view.high !== undefined) high = view.high;
    }
    const span = high - low || 1;
    for (let i = 0; i < n; i++) {
      const v = view.matrix[i];
      this.unit[i] = Number.isFinite(v) ? (v - low) / span : 0;
    }
    this.range = { low, high, relative: false, log: false };
    this.masked = masked;
    if (this.hover && (this.hover.row >= view.rows || this.hover.col >= view.cols)) this.hover = null;
    this.redraw();
    if (!this.hover) this.readout.textContent = view.hint || 'Hover a cell to read it.';
  }

  computeLayout(width) {
    const { rows, cols, rowTokens, colTokens } = this.view;
    const ctx = this.canvas.getContext('2d');
    ctx.font = `12px ${THEME.mono}`;
    const widest = (tokens) => tokens.reduce((w, t) => Math.max(w, ctx.measureText(tokenLabel(t)).width), 0);
    const left = Math.min(90, widest(rowTokens)) + 10;
    const cell = Math.max(3, Math.min(MAX_CELL, (width - left - 8) / Math.max(1, cols), 360 / Math.max(1, rows)));
    const colWidest = Math.min(90, widest(colTokens));
    const rotate = colWidest > cell - 3;
    const top = rotate ? colWidest + 10 : 20;
    const labelEvery = Math.max(1, Math.ceil(10 / cell));
    const matrixWidth = cell * cols;
    const matrixHeight = cell * rows;
    const legendY = top + matrixHeight + 24;
    const legendWidth = Math.max(120, Math.min(260, width - left - 12));
    return { width, height: legendY + 36, left, top, cell, rotate, labelEvery, matrixWidth, matrixHeight, legendY, legendWidth };
  }

  redraw() {
    const view = this.view;
    if (!view) return;
    const width = Math.max(200, contentWidth(this.figure) || 320);
    const layout = this.computeLayout(width);
    this.layout = layout;
    const ctx = sizeCanvas(this.canvas, layout.width, layout.height);
    const { left, top, cell, matrixWidth, matrixHeight } = layout;
    this.painter.paint(ctx, this.unit, view.rows, view.cols, view.table, left, top, matrixWidth, matrixHeight);
    if (this.masked) {
      // Masked positions (causal, padding): grey with a hatch, never a colour of the scale.
      ctx.save();
      for (let r = 0; r < view.rows; r++) {
        for (let c = 0; c < view.cols; c++) {
          if (Number.isFinite(view.matrix[r * view.cols + c])) continue;
          const x = left + c * cell;
          const y = top + r * cell;
          ctx.fillStyle = MASK_FILL;
          ctx.fillRect(x, y, cell, cell);
          ctx.strokeStyle = MASK_HATCH;
          ctx.lineWidth = 1;
          ctx.beginPath();
          ctx.moveTo(x, y + cell);
          ctx.lineTo(x + cell, y);
          if (cell > 12) {
            ctx.moveTo(x, y + cell / 2);
            ctx.lineTo(x + cell / 2, y);
            ctx.moveTo(x + cell / 2, y + cell);
            ctx.lineTo(x + cell, y + cell / 2);
          }
          ctx.stroke();
        }
      }
      ctx.restore();
    }
    if (this.hover) {
      ctx.strokeStyle = THEME.focus;
      ctx.lineWidth = 2;
      ctx.strokeRect(left + this.hover.col * cell + 1, top + this.hover.row * cell + 1, cell - 2, cell - 2);
    }
    this.drawLabels(ctx, layout);
    const caption = `${view.legendCaption || 'value'}${this.masked ? '   ▨ masked' : ''}`;
    drawLegend(ctx, view.table, this.range, left, layout.legendY, layout.legendWidth, 10, caption);
    this.draws += 1;
    Object.assign(this.canvas.dataset, {
      rows: String(view.rows), cols: String(view.cols), draws: String(this.draws), masked: String(this.masked),
      matrix: [left, top, matrixWidth, matrixHeight].map((v) => v.toFixed(1)).join(' '),
    });
    this.canvas.setAttribute('aria-label', `${view.title}: ${view.rows} rows by ${view.cols} columns`);
  }

  drawLabels(ctx, layout) {
    const view = this.view;
    const { left, top, cell, rotate, labelEvery } = layout;
    const font = Math.round(Math.min(12, Math.max(8, cell * 0.6)));
    ctx.font = `${font}px ${THEME.mono}`;
    ctx.fillStyle = THEME.muted;
    ctx.textBaseline = 'middle';
    ctx.textAlign = 'right';
    for (let r = 0; r < view.rows; r += labelEvery) {
      ctx.fillText(fitText(ctx, tokenLabel(view.rowTokens[r] ?? ''), 90), left - 5, top + (r + 0.5) * cell);
    }
    for (let c = 0; c < view.cols; c += labelEvery) {
      const text = fitText(ctx, tokenLabel(view.colTokens[c] ?? ''), 90);
      drawColumnLabel(ctx, text, left + (c + 0.5) * cell, top, { rotate, rotatedGap: 5, flatGap: 9 });
    }
  }

  onMove(event) {
    const layout = this.layout;
    const view = this.view;
    if (!layout || !view) return;
    const box = this.canvas.getBoundingClientRect();
    const col = Math.floor((event.clientX - box.left - layout.left) / layout.cell);
    const row = Math.floor((event.clientY - box.top - layout.top) / layout.cell);
    const inside = row >= 0 && row < view.rows && col >= 0 && col < view.cols;
    const next = inside ? { row, col } : null;
    if ((next?.row !== this.hover?.row) || (next?.col !== this.hover?.col)) {
      this.hover = next;
      this.redraw();
    }
    if (!inside) return;
    const value = view.matrix[row * view.cols + col];
    this.readout.textContent = `“${tokenLabel(view.rowTokens[row] ?? '')}” (row ${row + 1}) → “${tokenLabel(view.colTokens[col] ?? '')}” ` +
      `(column ${col + 1}): ${Number.isFinite(value) ? `${view.valueLabel || 'weight'} ${formatWeight(value)}` : 'masked (−∞ before the softmax)'}`;
  }
}
