// The model view: every layer x head of one attention kind as a small heatmap (plus each
// layer's head average), redrawn on every run. Clicking one opens it in the large heatmap.

import { MatrixPainter, contentWidth, setAttr, sizeCanvas } from './draw.js';
import { averageHeads, ensure, gather, normalise } from './matrix.js';
import { HEAD_AVERAGE } from './state.js';

export class GridView {
  /** container: element to fill; onPick(layer, head): a thumbnail was chosen. */
  constructor(container, { onPick }) {
    this.container = container;
    this.onPick = onPick;
    this.painter = new MatrixPainter();
    this.shape = '';
    this.builds = 0;
    this.cells = [];
    this.scratch = null;
    this.gathered = null;
    this.unit = null;
  }

  build(layers, heads, kindLabel) {
    const c = this.container;
    c.replaceChildren();
    c.style.gridTemplateColumns = `auto repeat(${heads + 1}, max-content)`;
    c.appendChild(document.createElement('span'));
    for (let h = 0; h <= heads; h++) {
      const label = document.createElement('span');
      label.className = 'grid-head-label';
      label.textContent = h < heads ? `H${h + 1}` : 'avg';
      c.appendChild(label);
    }
    this.cells = [];
    // New buttons: the analysis panel marks ablated heads on them again when this changes.
    c.dataset.built = String(++this.builds);
    for (let l = 0; l < layers; l++) {
      const label = document.createElement('span');
      label.className = 'grid-layer-label';
      label.textContent = `L${l + 1}`;
      c.appendChild(label);
      for (let h = 0; h <= heads; h++) {
        const head = h < heads ? h : HEAD_AVERAGE;
        const button = document.createElement('button');
        button.type = 'button';
        button.className = 'thumb';
        button.setAttribute('aria-label', `${kindLabel}, layer ${l + 1}, ${head === HEAD_AVERAGE ? 'average of the heads' : `head ${h + 1}`}`);
        button.dataset.layer = String(l);
        button.dataset.head = String(head);
        const canvas = document.createElement('canvas');
        button.appendChild(canvas);
        button.addEventListener('click', () => this.onPick(l, head));
        c.appendChild(button);
        this.cells.push({ layer: l, head, button, canvas });
      }
    }
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
    const rows = rowIndex.length;
    const cols = colIndex.length;
    const columns = attention.heads + 1;
    const size = Math.max(28, Math.min(72, Math.floor(contentWidth(this.container) / columns) - 6));
    const aspect = rows / cols;
    const width = aspect > 1 ? Math.round(size / aspect) : size;
    const height = aspect > 1 ? size : Math.round(size * aspect);
    const full = rows === attention.rows && cols === attention.cols;
    this.gathered = ensure(this.gathered, rows * cols);
    this.unit = ensure(this.unit, rows * cols);
    this.scratch = ensure(this.scratch, attention.rows * attention.cols);
    for (const cell of this.cells) {
      const source = cell.head === HEAD_AVERAGE ? averageHeads(attention, cell.layer, this.scratch) : attention.head(cell.layer, cell.head);
      const matrix = full ? source : gather(source, attention.cols, rowIndex, colIndex, this.gathered);
      normalise(matrix, rows, cols, options, this.unit);
      const ctx = sizeCanvas(cell.canvas, width, height);
      this.painter.paint(ctx, this.unit, rows, cols, table, 0, 0, width, height);
      const isSelected = cell.layer === selected.layer && cell.head === selected.head;
      setAttr(cell.button, 'aria-pressed', String(isSelected));
    }
    setAttr(this.container, 'data-thumbs', String(this.cells.length));
  }
}
