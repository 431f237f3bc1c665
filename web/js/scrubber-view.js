// The decode scrubber (seq2seq): step through the generated tokens and see which source
// positions the decoder's cross-attention looked at while producing each one.

import { MatrixPainter, THEME, contentWidth, fitText, formatWeight, setAttr, setText, sizeCanvas, tokenLabel, watchScreen } from './draw.js';
import { ensure, normalise } from './matrix.js';

export class ScrubberView {
  /** onStep(step): the user moved to a decode step. */
  constructor({ panel, range, label, tokens, strip }, { onStep }) {
    this.panel = panel;
    this.range = range;
    this.label = label;
    this.tokens = tokens;
    this.strip = strip;
    this.onStep = onStep;
    this.painter = new MatrixPainter();
    this.row = null;
    this.unit = null;
    this.last = null;
    // The strip's pixels wait while it is off screen (its text and attributes do not, so a
    // screen reader and the tests always find them current); scrolled to, it is drawn then.
    this.screen = watchScreen(strip, () => this.drawStrip());
    range.addEventListener('input', () => this.onStep(Number(range.value)));
    tokens.addEventListener('click', (e) => {
      const chip = e.target.closest('[data-step]');
      if (chip) this.onStep(Number(chip.dataset.step));
    });
  }

  hide() {
    this.panel.hidden = true;
    this.last = null;
  }

  /**
   * step: decode step (a row of the cross-attention); steps: decoder tokens (rows);
   * inputs[i]: decoder input at step i; produced[i]: token produced at step i;
   * row: Float32Array of the chosen head's weights over the shown source positions;
   * srcTokens: those positions' tokens; options, table: as for the heatmap.
   */
  update({ step, inputs, produced, row, srcTokens, options, table }) {
    // Only what changed is written: this runs on every keystroke.
    if (this.panel.hidden) this.panel.hidden = false;
    this.last = { step, inputs, produced, row, srcTokens, options, table };
    const steps = inputs.length;
    if (this.range.max !== String(Math.max(0, steps - 1))) this.range.max = String(Math.max(0, steps - 1));
    if (this.range.value !== String(step)) this.range.value = String(step);
    setAttr(this.range, 'aria-valuetext', `step ${step + 1} of ${steps}: produces ${tokenLabel(produced[step])}`);
    setText(this.label, `step ${step + 1} / ${steps}: reads “${tokenLabel(inputs[step])}”, produces “${tokenLabel(produced[step])}”`);

    if (this.tokens.childElementCount !== steps) {
      this.tokens.replaceChildren();
      for (let i = 0; i < steps; i++) {
        const chip = document.createElement('span');
        chip.className = 'chip';
        chip.dataset.step = String(i);
        this.tokens.appendChild(chip);
      }
    }
    for (let i = 0; i < steps; i++) {
      const chip = this.tokens.children[i];
      setText(chip, tokenLabel(produced[i]));
      chip.classList.toggle('current', i === step);
      chip.classList.toggle('done', i < step);
    }
    setAttr(this.strip, 'data-cols', String(srcTokens.length));
    setAttr(this.strip, 'aria-label', `Cross-attention of step ${step + 1} over ${srcTokens.length} source tokens`);
    this.screen.behind = !this.screen.visible;
    if (!this.screen.behind) this.drawStrip();
  }

  drawStrip() {
    if (!this.last || this.panel.hidden) return;
    const { row, srcTokens, options, table } = this.last;
    const cols = srcTokens.length;
    const width = Math.max(160, contentWidth(this.strip.parentElement) - 2);
    const cell = Math.max(8, Math.min(48, width / cols));
    const height = 30 + 22;
    const ctx = sizeCanvas(this.strip, Math.min(width, cell * cols + 2), height);
    this.unit = ensure(this.unit, cols);
    normalise(row, 1, cols, options, this.unit);
    this.painter.paint(ctx, this.unit, 1, cols, table, 1, 0, cell * cols, 30);
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    // The weights, then the labels: one font change each (setting ctx.font parses it).
    if (cell >= 30) {
      ctx.font = `10px ${THEME.font}`;
      for (let c = 0; c < cols; c++) {
        ctx.fillStyle = this.unit[c] > 0.6 ? '#111' : '#fff';
        ctx.fillText(formatWeight(row[c]), 1 + (c + 0.5) * cell, 15);
      }
    }
    ctx.font = `12px ${THEME.mono}`;
    ctx.fillStyle = THEME.muted;
    for (let c = 0; c < cols; c++) {
      if (cell >= 9 || c % 2 === 0) ctx.fillText(fitText(ctx, tokenLabel(srcTokens[c]), cell + 4), 1 + (c + 0.5) * cell, 41);
    }
  }
}
