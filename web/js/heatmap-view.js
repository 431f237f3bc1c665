// The large heatmap: one matrix with token labels on both axes, axis titles, a colour legend,
// a hover readout, click-to-highlight of a row and column, and a keyboard focus cell.

import { MatrixPainter, THEME, contentWidth, drawColumnLabel, drawLegend, fitText, formatWeight, measureContext, setAttr, sizeCanvas, tokenLabel } from './draw.js';

const AXIS_TITLE = 18;   // px band for an axis title
const MAX_CELL = 44;     // px; cells never grow beyond this
const MIN_LABEL_CELL = 10;

export class HeatmapView {
  /**
   * canvas: the <canvas>; readout: element for the hover/focus text (aria-live);
   * onSelect(highlight, focus): called when a click or key changes the highlight or focus.
   */
  constructor(canvas, readout, { onSelect }) {
    this.canvas = canvas;
    this.readout = readout;
    this.onSelect = onSelect;
    this.painter = new MatrixPainter();
    this.view = null;
    this.layout = null;
    this.hover = null;
    this.draws = 0;
    this.highlight = null;
    this.focus = { row: 0, col: 0 };
    this.keyboardActive = false;

    canvas.addEventListener('mousemove', (e) => this.onMouseMove(e));
    canvas.addEventListener('mouseleave', () => { this.hover = null; this.redraw(); });
    canvas.addEventListener('click', (e) => this.onClick(e));
    canvas.addEventListener('keydown', (e) => this.onKeyDown(e));
    // The focus cell is drawn for keyboard focus only, not after a mouse click.
    canvas.addEventListener('focus', () => {
      this.keyboardActive = canvas.matches(':focus-visible');
      this.redraw();
      this.announceFocus();
    });
    canvas.addEventListener('blur', () => { this.keyboardActive = false; this.redraw(); });
  }

  /**
   * view: {
   *   matrix: Float32Array [rows][cols] weights as shown (after head average / hidden padding),
   *   unit: Float32Array [rows][cols] the same mapped to [0, 1] for colour,
   *   rows, cols, rowTokens: string[], colTokens: string[],
   *   rowAxis, colAxis: axis titles, table: colour LUT, range: legend range, legendCaption,
   *   highlight: { row, col } | null, focus: { row, col }
   * }
   */
  update(view) {
    this.view = view;
    this.highlight = view.highlight;
    this.focus = {
      row: Math.min(Math.max(0, view.focus.row), view.rows - 1),
      col: Math.min(Math.max(0, view.focus.col), view.cols - 1),
    };
    if (this.hover && (this.hover.row >= view.rows || this.hover.col >= view.cols)) this.hover = null;
    this.redraw();
    if (this.hover) this.showCell(this.hover.row, this.hover.col);
  }

  /** Shows a message instead of a matrix (no model output yet, e.g. empty text). */
  showEmpty(message) {
    this.view = null;
    this.layout = null;
    const width = Math.max(240, contentWidth(this.canvas.parentElement));
    const ctx = sizeCanvas(this.canvas, width, 120);
    ctx.fillStyle = THEME.muted;
    ctx.font = `14px ${THEME.font}`;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    ctx.fillText(message, width / 2, 60);
    this.draws += 1;
    Object.assign(this.canvas.dataset, { rows: '0', cols: '0', rowTokens: '[]', colTokens: '[]', draws: String(this.draws), matrix: '' });
    this.readout.textContent = message;
  }

  computeLayout(width) {
    const { rows, cols, rowTokens, colTokens } = this.view;
    const ctx = measureContext;
    const maxMatrixHeight = Math.max(220, Math.min(640, window.innerHeight * 0.7));
    // First a guess of the cell size from a fixed label font, then the real font for that size.
    let font = 13;
    ctx.font = `${font}px ${THEME.mono}`;
    const widest = (tokens) => tokens.reduce((w, t) => Math.max(w, ctx.measureText(tokenLabel(t)).width), 0);
    let left = AXIS_TITLE + Math.min(120, widest(rowTokens)) + 10;
    let cell = Math.min(MAX_CELL, (width - left - 12) / cols, maxMatrixHeight / rows);
    font = Math.round(Math.min(13, Math.max(9, cell * 0.62)));
    ctx.font = `${font}px ${THEME.mono}`;
    left = AXIS_TITLE + Math.min(120, widest(rowTokens)) + 10;
    cell = Math.max(2, Math.min(MAX_CELL, (width - left - 12) / cols, maxMatrixHeight / rows));
    const colWidest = Math.min(120, widest(colTokens));
    const rotate = colWidest > cell - 3;
    const top = AXIS_TITLE + (rotate ? colWidest + 10 : font + 10);
    const labelEvery = Math.max(1, Math.ceil(MIN_LABEL_CELL / cell));
    const matrixWidth = cell * cols;
    const matrixHeight = cell * rows;
    const legendY = top + matrixHeight + 40;
    const legendWidth = Math.max(140, Math.min(320, Math.max(matrixWidth, width - left - 12)));
    const legendX = Math.min(left, Math.max(4, width - legendWidth - 12));
    return {
      width, height: legendY + 12 + 26, left, top, cell, font, rotate, labelEvery,
      matrixWidth, matrixHeight, legendX, legendY, legendWidth,
    };
  }

  redraw() {
    const view = this.view;
    if (!view) return;
    const width = Math.max(240, contentWidth(this.canvas.parentElement));
    const layout = this.computeLayout(width);
    this.layout = layout;
    const ctx = sizeCanvas(this.canvas, layout.width, layout.height);
    const { left, top, cell, matrixWidth, matrixHeight } = layout;

    this.painter.paint(ctx, view.unit, view.rows, view.cols, view.table, left, top, matrixWidth, matrixHeight);

    const hl = this.highlight;
    if (hl && (hl.row !== null || hl.col !== null)) {
      // Dim everything outside the highlighted row and column.
      ctx.fillStyle = THEME.highlightShade;
      for (let r = 0; r < view.rows; r++) {
        if (r === hl.row) continue;
        if (hl.col === null) ctx.fillRect(left, top + r * cell, matrixWidth, cell);
        else {
          ctx.fillRect(left, top + r * cell, hl.col * cell, cell);
          ctx.fillRect(left + (hl.col + 1) * cell, top + r * cell, (view.cols - hl.col - 1) * cell, cell);
        }
      }
      ctx.strokeStyle = THEME.highlight;
      ctx.lineWidth = 1.5;
      if (hl.row !== null) ctx.strokeRect(left + 0.75, top + hl.row * cell + 0.75, matrixWidth - 1.5, cell - 1.5);
      if (hl.col !== null) ctx.strokeRect(left + hl.col * cell + 0.75, top + 0.75, cell - 1.5, matrixHeight - 1.5);
    }
    if (this.hover) this.outlineCell(ctx, this.hover, THEME.highlight, 1.5);
    if (this.keyboardActive) this.outlineCell(ctx, this.focus, THEME.focus, 2.5);

    this.drawLabels(ctx, layout);
    drawLegend(ctx, view.table, view.range, layout.legendX, layout.legendY, layout.legendWidth, 12, view.legendCaption);

    this.draws += 1;
    const c = this.canvas;
    setAttr(c, 'data-rows', String(view.rows));
    setAttr(c, 'data-cols', String(view.cols));
    setAttr(c, 'data-row-tokens', JSON.stringify(view.rowTokens));
    setAttr(c, 'data-col-tokens', JSON.stringify(view.colTokens));
    c.dataset.draws = String(this.draws);
    setAttr(c, 'data-matrix', [left, top, matrixWidth, matrixHeight].map((v) => v.toFixed(1)).join(' '));
    setAttr(c, 'aria-label',
      `Attention heatmap, ${view.rows} query rows by ${view.cols} key columns. ${view.rowAxis}; ${view.colAxis}.`);
  }

  outlineCell(ctx, cellAt, colour, lineWidth) {
    const { left, top, cell } = this.layout;
    ctx.strokeStyle = colour;
    ctx.lineWidth = lineWidth;
    const inset = lineWidth / 2;
    ctx.strokeRect(left + cellAt.col * cell + inset, top + cellAt.row * cell + inset, cell - lineWidth, cell - lineWidth);
  }

  drawLabels(ctx, layout) {
    const view = this.view;
    const { left, top, cell, font, rotate, labelEvery, matrixWidth, matrixHeight } = layout;
    const hl = this.highlight || { row: null, col: null };
    // Setting ctx.font parses the font, so it is set only when a label's weight changes.
    const plain = `${font}px ${THEME.mono}`;
    const bold = `bold ${plain}`;
    let current = '';
    const useFont = (strong) => {
      const wanted = strong ? bold : plain;
      if (wanted !== current) ctx.font = current = wanted;
    };
    ctx.textBaseline = 'middle';
    for (let r = 0; r < view.rows; r++) {
      if (r % labelEvery && r !== hl.row) continue;
      const strong = r === hl.row;
      useFont(strong);
      ctx.fillStyle = strong ? THEME.text : THEME.muted;
      ctx.textAlign = 'right';
      ctx.fillText(fitText(ctx, tokenLabel(view.rowTokens[r]), 120), left - 6, top + (r + 0.5) * cell);
    }
    if (!rotate) ctx.textBaseline = 'bottom';
    for (let c = 0; c < view.cols; c++) {
      if (c % labelEvery && c !== hl.col) continue;
      const strong = c === hl.col;
      useFont(strong);
      ctx.fillStyle = strong ? THEME.text : THEME.muted;
      const text = fitText(ctx, tokenLabel(view.colTokens[c]), 120);
      drawColumnLabel(ctx, text, left + (c + 0.5) * cell, top, { rotate, rotatedGap: 6, flatGap: 5 });
    }
    // Axis titles, so nobody wonders which side is which.
    ctx.fillStyle = THEME.text;
    ctx.font = `600 12px ${THEME.font}`;
    ctx.textBaseline = 'top';
    ctx.textAlign = 'left';
    ctx.fillText(fitText(ctx, `${view.colAxis} →`, Math.max(matrixWidth, layout.width - left - 4)), left, 2);
    ctx.save();
    ctx.translate(2, top + matrixHeight);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText(fitText(ctx, `← ${view.rowAxis}`, Math.max(matrixHeight, 120)), 0, 0);
    ctx.restore();
  }

  /** The cell or label under a mouse event: { row, col } with null for an axis label. */
  hit(event) {
    const layout = this.layout;
    const view = this.view;
    if (!layout || !view) return null;
    const box = this.canvas.getBoundingClientRect();
    const x = event.clientX - box.left;
    const y = event.clientY - box.top;
    const col = Math.floor((x - layout.left) / layout.cell);
    const row = Math.floor((y - layout.top) / layout.cell);
    const inCols = col >= 0 && col < view.cols;
    const inRows = row >= 0 && row < view.rows;
    if (inCols && inRows) return { row, col };
    if (inRows && x < layout.left) return { row, col: null };
    if (inCols && y < layout.top && y > AXIS_TITLE) return { row: null, col };
    return null;
  }

  onMouseMove(event) {
    const at = this.hit(event);
    const cellAt = at && at.row !== null && at.col !== null ? at : null;
    const same = cellAt && this.hover && cellAt.row === this.hover.row && cellAt.col === this.hover.col;
    if (!same && (cellAt || this.hover)) {
      this.hover = cellAt;
      this.redraw();
    }
    if (cellAt) this.showCell(cellAt.row, cellAt.col);
    this.canvas.style.cursor = at ? 'pointer' : 'default';
  }

  onClick(event) {
    const at = this.hit(event);
    if (!at) return;
    const hl = this.highlight;
    const same = hl && hl.row === at.row && hl.col === at.col;
    this.highlight = same ? null : at;
    if (at.row !== null && at.col !== null) this.focus = { row: at.row, col: at.col };
    this.onSelect(this.highlight, this.focus);
    this.redraw();
  }

  onKeyDown(event) {
    const view = this.view;
    if (!view) return;
    const f = { ...this.focus };
    switch (event.key) {
      case 'ArrowUp': f.row = Math.max(0, f.row - 1); break;
      case 'ArrowDown': f.row = Math.min(view.rows - 1, f.row + 1); break;
      case 'ArrowLeft': f.col = Math.max(0, f.col - 1); break;
      case 'ArrowRight': f.col = Math.min(view.cols - 1, f.col + 1); break;
      case 'Home': f.col = 0; break;
      case 'End': f.col = view.cols - 1; break;
      case 'Enter':
      case ' ': {
        const hl = this.highlight;
        const same = hl && hl.row === f.row && hl.col === f.col;
        this.highlight = same ? null : { row: f.row, col: f.col };
        break;
      }
      case 'Escape': this.highlight = null; break;
      default: return;
    }
    event.preventDefault();
    this.keyboardActive = true;
    this.focus = f;
    this.onSelect(this.highlight, this.focus);
    this.redraw();
    this.announceFocus();
  }

  announceFocus() {
    if (this.view) this.showCell(this.focus.row, this.focus.col);
  }

  showCell(row, col) {
    const view = this.view;
    const value = view.matrix[row * view.cols + col];
    this.readout.textContent =
      `query “${tokenLabel(view.rowTokens[row])}” (row ${row + 1}) → key “${tokenLabel(view.colTokens[col])}” ` +
      `(column ${col + 1}): weight ${formatWeight(value)}`;
  }
}
