// The model view: every layer x head of one attention kind as a small heatmap (plus each
// layer's head average), redrawn on every run. Clicking one opens it in the large heatmap.
//
// All the pictures are drawn on one canvas laid over a CSS grid of buttons: a canvas per
// thumbnail cost the browser a canvas resource, a layer and a commit each on every keystroke
// (27 of them for Pig Latin). The buttons under it keep what a page of buttons gives: focus
// and keyboard selection, accessible names, aria-pressed, hover and the ablation markers (CSS);
// the canvas lets pointer events through to them and covers only the pictures, inside the
// buttons' border and padding.

import { MatrixPainter, contentWidth, setAttr, sizeCanvas } from './draw.js';
import { averageHeads, ensure, gather, normalise } from './matrix.js';
import { HEAD_AVERAGE } from './state.js';

// The geometry the canvas is drawn to, which the CSS grid must match: the gap between
// thumbnails (set here on the grid) and a thumbnail's border + padding (style.css, .thumb).
const GAP = 6;
const INSET = 4;

export class GridView {
  /** container: element to fill; onPick(layer, head): a thumbnail was chosen. */
  constructor(container, { onPick }) {
    this.container = container;
    this.onPick = onPick;
    this.painter = new MatrixPainter();
    this.shape = '';
    this.builds = 0;
    this.cells = [];
    this.canvas = null;
    this.size = 0;
    this.drawn = {};        // what the canvas shows: { attention, table, key }
    this.scratch = null;
    this.gathered = null;
    this.unit = null;
  }

  build(layers, heads, kindLabel) {
    const c = this.container;
    c.replaceChildren();
    c.style.gap = `${GAP}px`;
    c.style.gridTemplateColumns = `auto repeat(${heads + 1}, max-content)`;
    c.style.gridTemplateRows = `auto repeat(${layers}, auto)`;
    // Every item has its place, so the canvas can overlap the buttons (grid lines are 1-based).
    const place = (element, row, column) => {
      element.style.gridArea = `${row} / ${column}`;
      c.appendChild(element);
    };
    for (let h = 0; h <= heads; h++) {
      const label = document.createElement('span');
      label.className = 'grid-head-label';
      label.textContent = h < heads ? `H${h + 1}` : 'avg';
      place(label, 1, h + 2);
    }
    this.cells = [];
    // New buttons: the analysis panel marks ablated heads on them again when this changes.
    c.dataset.built = String(++this.builds);
    for (let l = 0; l < layers; l++) {
      const label = document.createElement('span');
      label.className = 'grid-layer-label';
      label.textContent = `L${l + 1}`;
      place(label, l + 2, 1);
      for (let h = 0; h <= heads; h++) {
        const head = h < heads ? h : HEAD_AVERAGE;
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'thumb';
        const name = `${kindLabel}, layer ${l + 1}, ${head === HEAD_AVERAGE ? 'average of the heads' : `head ${h + 1}`}`;
        button.setAttribute('aria-label', name);
        button.dataset.layer = String(l);
        button.dataset.head = String(head);
        button.addEventListener('click', () => this.onPick(l, head));
        place(button, l + 2, h + 2);
        this.cells.push({ layer: l, head, button, row: l, column: h, name });
      }
    }
    // Over the thumbnails' area, from the first button's corner; last, so it is on top.
    this.canvas = document.createElement('canvas');
    this.canvas.className = 'grid-canvas';
    this.canvas.setAttribute('aria-hidden', 'true');
    this.canvas.style.gridArea = `2 / 2 / ${layers + 2} / ${heads + 3}`;
    c.appendChild(this.canvas);
    this.size = 0;
    this.drawn = {};
  }

  /**
   * attention: an AttentionView; rowIndex/colIndex: positions shown; options: { scale, log };
   * table: colour LUT; selected: { layer, head }; kindLabel for accessible names.
   */
  update({ attention, rowIndex, colIndex, options, table, selected, kindLabel }) {
    const shape = `${kindLabel}:${attention.layers}x${attention.heads}`;
    if (shape !== this.shape) {
      this.build(attention.layers, attention.heads, kindLabel);
      this.shape = shape;
    }
    const columns = attention.heads + 1;
    // Square buttons, sized by the width only: the grid's layout stays put while typing
    // changes the matrices' shape; each picture keeps its aspect, centred in its square.
    const size = Math.max(28, Math.min(72, Math.floor(contentWidth(this.container) / columns) - 6));
    if (size !== this.size) {
      this.container.style.setProperty('--thumb', `${size}px`);
      this.size = size;
    }
    // The pictures depend only on these; a draw for another reason (a decode step, another
    // head opened) updates the selection and leaves them as they are.
    const key = `${size} ${options.scale} ${options.log} ${rowIndex.join(',')} ${colIndex.join(',')}`;
    const unchanged = attention === this.drawn.attention && table === this.drawn.table && key === this.drawn.key;
    this.drawn = { attention, table, key };
    for (const cell of this.cells) {
      setAttr(cell.button, 'aria-pressed', String(cell.layer === selected.layer && cell.head === selected.head));
    }
    setAttr(this.container, 'data-thumbs', String(this.cells.length));
    if (!unchanged) this.paint({ attention, rowIndex, colIndex, options, table, size });
  }

  paint({ attention, rowIndex, colIndex, options, table, size }) {
    const rows = rowIndex.length;
    const cols = colIndex.length;
    const columns = attention.heads + 1;
    const aspect = rows / cols;
    const width = aspect > 1 ? Math.round(size / aspect) : size;
    const height = aspect > 1 ? size : Math.round(size * aspect);
    const box = size + 2 * INSET;
    const ctx = sizeCanvas(this.canvas, columns * box + (columns - 1) * GAP, attention.layers * box + (attention.layers - 1) * GAP);

    const full = rows === attention.rows && cols === attention.cols;
    this.gathered = ensure(this.gathered, rows * cols);
    this.unit = ensure(this.unit, rows * cols);
    this.scratch = ensure(this.scratch, attention.rows * attention.cols);
    this.painter.prepare(rows, cols, this.cells.length);
    // A layer the run did not record (a long text, past the capture limit) stays blank.
    const recorded = (cell) => attention.hasLayer(cell.layer);
    for (const cell of this.cells) {
      cell.button.classList.toggle('unrecorded', !recorded(cell));
      setAttr(cell.button, 'aria-label', recorded(cell) ? cell.name : `${cell.name}: not recorded for this long text; open it to see it`);
    }
    this.cells.forEach((cell, i) => {
      if (!recorded(cell)) return;
      const source = cell.head === HEAD_AVERAGE ? averageHeads(attention, cell.layer, this.scratch) : attention.head(cell.layer, cell.head);
      const matrix = full ? source : gather(source, attention.cols, rowIndex, colIndex, this.gathered);
      normalise(matrix, rows, cols, options, this.unit);
      this.painter.colour(i, this.unit, table);
    });
    this.painter.flush();
    const dx = INSET + Math.floor((size - width) / 2);
    const dy = INSET + Math.floor((size - height) / 2);
    this.cells.forEach((cell, i) => {
      if (!recorded(cell)) {
        ctx.clearRect(cell.column * (box + GAP), cell.row * (box + GAP), box, box);
        return;
      }
      this.painter.blit(ctx, i, cell.column * (box + GAP) + dx, cell.row * (box + GAP) + dy, width, height);
    });
  }
}
