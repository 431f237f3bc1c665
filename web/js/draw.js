// Drawing helpers shared by the views: canvas sizing, matrix painting, labels, legend.

export const THEME = {
  font: '"Inter", "Segoe UI", system-ui, -apple-system, Roboto, "Helvetica Neue", Arial, sans-serif',
  mono: 'ui-monospace, "SFMono-Regular", "DejaVu Sans Mono", Menlo, Consolas, monospace',
  text: '#1d2433',
  muted: '#5b6478',
  grid: '#d5d9e2',
  highlight: 'rgba(255, 255, 255, 0.9)',
  highlightShade: 'rgba(20, 24, 36, 0.55)',
  focus: '#ff4f79',
};

// A canvas's backing store is kept while it is large enough, because a new one costs an
// allocation (about 1 ms for the large heatmap, 1-2 ms for a grid of 27 thumbnails) and the
// views change size on nearly every keystroke as the number of tokens changes. The CSS box
// then shows the store's top-left corner at 1:1: object-fit: cover scales the store by
// exactly 1/devicePixelRatio when one side of it matches the box (the other is longer and
// cut off), and object-position puts its corner at the box's. used() tells the exports what
// part is the picture.
const stores = new WeakMap();  // canvas -> { ratio, width, height } (device pixels in use)
// A store may be up to 4 times the picture (or 1 MB) before it is replaced by an exact one.
const roomy = (store, width, height) => store <= Math.max(4 * width * height, 1 << 18);

/**
 * Sizes a canvas to cssWidth x cssHeight CSS pixels with a backing store of that times
 * devicePixelRatio (or a larger one it already had), so drawing stays sharp; returns its 2D
 * context scaled to CSS pixels, cleared.
 */
export function sizeCanvas(canvas, cssWidth, cssHeight) {
  const ratio = window.devicePixelRatio || 1;
  const width = Math.max(1, Math.round(cssWidth * ratio));
  const height = Math.max(1, Math.round(cssHeight * ratio));
  const store = stores.get(canvas);
  const fits = store && store.ratio === ratio && canvas.width >= width && canvas.height >= height
    && (canvas.width === width || canvas.height === height) && roomy(canvas.width * canvas.height, width, height);
  if (!fits) {
    // Grow the side that is short and keep the other if that stays a fit (so a size that
    // comes and goes, such as a thumbnail's aspect, soon needs no new store), else exact.
    let w = Math.max(canvas.width, width);
    let h = Math.max(canvas.height, height);
    if (!store || store.ratio !== ratio || (w !== width && h !== height) || !roomy(w * h, width, height)) {
      w = width;
      h = height;
    }
    if (canvas.width !== w) canvas.width = w;
    if (canvas.height !== h) canvas.height = h;
    canvas.style.objectFit = 'cover';
    canvas.style.objectPosition = '0 0';
  }
  stores.set(canvas, { ratio, width, height });
  // Set the CSS size only when it changes: a style write invalidates layout every frame.
  const styleWidth = `${cssWidth}px`, styleHeight = `${cssHeight}px`;
  if (canvas.style.width !== styleWidth) canvas.style.width = styleWidth;
  if (canvas.style.height !== styleHeight) canvas.style.height = styleHeight;
  const ctx = canvas.getContext('2d');
  ctx.setTransform(1, 0, 0, 1, 0, 0);
  ctx.clearRect(0, 0, canvas.width, canvas.height);  // all of it: what is cut off stays blank
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  return ctx;
}

/** The canvas holding only its picture (the part of a larger store sizeCanvas drew in). */
export function pictureOf(canvas) {
  const store = stores.get(canvas);
  if (!store || (store.width === canvas.width && store.height === canvas.height)) return canvas;
  const copy = document.createElement('canvas');
  copy.width = store.width;
  copy.height = store.height;
  copy.getContext('2d').drawImage(canvas, 0, 0);
  return copy;
}

// ---- element widths without layout reads ------------------------------------------------
// Reading clientWidth (or getComputedStyle) after the page wrote text or styles in the same
// frame forces a synchronous layout, and the views used to do it several times per draw. So
// the widths the views size their canvases by come from one ResizeObserver instead: measured
// once when first asked, then kept up to date by the observer, after the browser's own layout.

const widths = new WeakMap();
const resizeListeners = new Set();
let resizeObserver = null;

function observed() {
  if (!resizeObserver) {
    resizeObserver = new ResizeObserver((entries) => {
      let changed = false;
      for (const entry of entries) {
        const width = Math.floor(entry.contentRect.width);
        if (widths.get(entry.target) !== width) {
          widths.set(entry.target, width);
          changed = true;
        }
      }
      if (changed) for (const listener of resizeListeners) listener();
    });
  }
  return resizeObserver;
}

/**
 * The content-box width of element in CSS pixels (whole pixels, rounded down). Read from the
 * layout only the first time, or while the element is hidden (width 0), so that it comes
 * right as soon as it is shown.
 */
export function contentWidth(element) {
  const known = widths.get(element);
  if (known > 0) return known;
  if (known === undefined) observed().observe(element);
  const style = getComputedStyle(element);
  const width = Math.max(0, Math.floor(element.clientWidth - parseFloat(style.paddingLeft || 0) - parseFloat(style.paddingRight || 0)));
  widths.set(element, width);
  return width;
}

/**
 * Watches whether element is on (or within 200 px of) the screen, so a view can leave its
 * canvas undrawn below the fold (a keystroke then costs no pixels nobody sees). Returns
 * { visible, behind }: a view sets behind when it skips a draw; onShown() is called when the
 * element comes into view with a draw behind.
 */
export function watchScreen(element, onShown) {
  const watch = { visible: true, behind: false };  // visible until the observer first says otherwise
  new IntersectionObserver((entries) => {
    watch.visible = entries[entries.length - 1].isIntersecting;
    if (watch.visible && watch.behind) {
      watch.behind = false;
      onShown();
    }
  }, { rootMargin: '200px 0px' }).observe(element);
  return watch;
}

/**
 * A 2D context for measuring text only. Setting the font of a canvas in the document makes
 * the browser bring the page's style up to date first (the font may depend on it), on every
 * keystroke after the page wrote text; a canvas outside the document has no style to wait for.
 * (Our fonts are all in px with absolute families, so they measure the same.)
 */
export const measureContext = document.createElement('canvas').getContext('2d');

/** Calls listener whenever the width of an element measured by contentWidth changes. */
export function onWidthChange(listener) {
  resizeListeners.add(listener);
  return () => resizeListeners.delete(listener);
}

/**
 * Sets an attribute only when its value changes: writing even an equal value can invalidate
 * style, and the views run on every keystroke.
 */
export function setAttr(element, name, value) {
  if (element.getAttribute(name) !== value) element.setAttribute(name, value);
}

/** Sets textContent only when it changes (an equal write still replaces the text node). */
export function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

/**
 * One reusable 1-pixel-per-cell canvas and its ImageData, per painter. It holds one matrix,
 * or several of the same shape side by side (tiles) so that a grid of them costs one
 * putImageData. Its canvas only grows: resizing a canvas discards its store, and the shape
 * changes with nearly every keystroke.
 */
export class MatrixPainter {
  constructor() {
    this.canvas = document.createElement('canvas');
    this.ctx = this.canvas.getContext('2d');
    this.image = null;
    this.rows = 0;
    this.cols = 0;
  }

  /** Makes room for count tiles of rows x cols each. */
  prepare(rows, cols, count = 1) {
    this.rows = rows;
    this.cols = cols;
    const width = cols * count;
    if (!this.image || this.image.width !== width || this.image.height !== rows) {
      this.image = this.ctx.createImageData(Math.max(1, width), Math.max(1, rows));
    }
    if (this.canvas.width < width || this.canvas.height < rows) {
      this.canvas.width = Math.max(this.canvas.width, width);
      this.canvas.height = Math.max(this.canvas.height, rows);
    }
  }

  /** Colours tile index from unit values [rows][cols] in [0, 1] through a colour table. */
  colour(index, unit, table) {
    const { rows, cols } = this;
    const pixels = this.image.data;
    const stride = this.image.width * 4;
    for (let r = 0; r < rows; r++) {
      let p = r * stride + index * cols * 4;
      for (let i = r * cols, end = i + cols; i < end; i++, p += 4) {
        const t = unit[i];
        const k = (t >= 1 ? 255 : t > 0 ? (t * 255) | 0 : 0) * 3;
        pixels[p] = table[k];
        pixels[p + 1] = table[k + 1];
        pixels[p + 2] = table[k + 2];
        pixels[p + 3] = 255;
      }
    }
  }

  /** Hands the coloured tiles to the canvas (once, after colouring them all). */
  flush() {
    this.ctx.putImageData(this.image, 0, 0);
  }

  /** Draws tile index into the rectangle (x, y, width, height) of ctx, one crisp block per cell. */
  blit(ctx, index, x, y, width, height) {
    if (this.rows === 0 || this.cols === 0) return;
    ctx.imageSmoothingEnabled = false;
    ctx.drawImage(this.canvas, index * this.cols, 0, this.cols, this.rows, x, y, width, height);
  }

  /**
   * Paints unit values [rows][cols] in [0, 1] through a colour table into the rectangle
   * (x, y, width, height) of ctx, one crisp block per cell.
   */
  paint(ctx, unit, rows, cols, table, x, y, width, height) {
    if (rows === 0 || cols === 0) return;
    this.prepare(rows, cols);
    this.colour(0, unit, table);
    this.flush();
    this.blit(ctx, 0, x, y, width, height);
  }
}

/**
 * How a token is written on an axis: whitespace and control characters made visible (as the
 * Control Pictures block does), a lone combining mark put on a dotted circle, so no label is
 * blank or invisible.
 */
export function tokenLabel(token) {
  if (token === ' ') return '␣';
  if (token === '\n') return '↵';
  if (token === '\t') return '⇥';
  if (token.length === 0) return '∅';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(token)) {
    // eslint-disable-next-line no-control-regex
    return token.replace(/[\u0000-\u001f]/g, (c) => String.fromCharCode(0x2400 + c.charCodeAt(0))).replace(/\u007f/g, '␡');
  }
  if (/\p{Cf}/u.test(token)) return visibleText(token);
  if (/^\p{M}/u.test(token)) return `◌${token}`;
  if (/^\s+$/u.test(token)) return '␣'.repeat(Math.min(token.length, 3));
  return token;
}

/**
 * Text of an engine message made safe to show: invisible format characters (bidi overrides,
 * zero-width ones) written as U+XXXX so they cannot reorder or hide the rest, and a combining
 * mark right after a quote put on a dotted circle.
 */
export function visibleText(text) {
  return text
    .replace(/\p{Cf}/gu, (c) => `U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}`)
    .replace(/"(\p{M})/gu, '"◌$1');
}

/** Shortens text with an ellipsis to fit maxWidth in the current font (binary search). */
export function fitText(ctx, text, maxWidth) {
  if (text.length > 200) text = text.slice(0, 200);
  if (ctx.measureText(text).width <= maxWidth) return text;
  let lo = 1;                 // fits (or is the least we show)
  let hi = text.length - 1;   // the longest prefix to try
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ctx.measureText(`${text.slice(0, mid)}…`).width <= maxWidth) lo = mid;
    else hi = mid - 1;
  }
  return `${text.slice(0, lo)}…`;
}

/**
 * A column label centred on x above a heatmap whose top edge is at y: rotated to read upwards
 * from `rotatedGap` above the edge, or flat (centred, in the current baseline) `flatGap` above it.
 */
export function drawColumnLabel(ctx, text, x, y, { rotate, rotatedGap, flatGap }) {
  if (rotate) {
    ctx.save();
    ctx.translate(x, y - rotatedGap);
    ctx.rotate(-Math.PI / 2);
    ctx.textAlign = 'left';
    ctx.fillText(text, 0, 0);
    ctx.restore();
  } else {
    ctx.textAlign = 'center';
    ctx.fillText(text, x, y - flatGap);
  }
}

/** Number formatting for weights: 3 significant digits, exponent for tiny values. */
export function formatWeight(value) {
  if (value === 0) return '0';
  const magnitude = Math.abs(value);
  if (magnitude < 0.001) return value.toExponential(1);
  if (magnitude >= 100) return value.toFixed(0);
  return value.toPrecision(3).replace(/\.?0+$/, '') || '0';
}

const legendBars = new WeakMap();

/** The colour table as a 256 x 1 canvas, made once per table (a legend is one drawImage). */
function legendBar(table) {
  let bar = legendBars.get(table);
  if (!bar) {
    bar = document.createElement('canvas');
    bar.width = 256;
    bar.height = 1;
    const context = bar.getContext('2d');
    const image = context.createImageData(256, 1);
    for (let i = 0; i < 256; i++) {
      image.data.set([table[i * 3], table[i * 3 + 1], table[i * 3 + 2], 255], i * 4);
    }
    context.putImageData(image, 0, 0);
    legendBars.set(table, bar);
  }
  return bar;
}

/**
 * A horizontal colour bar at (x, y) of width x height with tick labels under it.
 * range: { low, high, relative, log } from normalise().
 */
export function drawLegend(ctx, table, range, x, y, width, height, caption) {
  ctx.imageSmoothingEnabled = true;
  ctx.drawImage(legendBar(table), x, y, width, height);
  ctx.strokeStyle = THEME.grid;
  ctx.lineWidth = 1;
  ctx.strokeRect(x + 0.5, y + 0.5, width - 1, height - 1);

  const ticks = [];
  if (range.log) {
    const decades = Math.round(Math.log10(range.high / range.low));
    for (let d = 0; d <= decades; d++) ticks.push({ t: d / decades, value: range.low * Math.pow(10, d) });
  } else {
    for (let i = 0; i <= 4; i++) ticks.push({ t: i / 4, value: range.low + ((range.high - range.low) * i) / 4 });
  }
  ctx.fillStyle = THEME.muted;
  ctx.strokeStyle = THEME.muted;
  ctx.font = `11px ${THEME.font}`;
  ctx.textBaseline = 'top';
  for (const tick of ticks) {
    const tx = Math.round(x + tick.t * (width - 1)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(tx, y + height);
    ctx.lineTo(tx, y + height + 4);
    ctx.stroke();
    ctx.textAlign = tick.t === 0 ? 'left' : tick.t === 1 ? 'right' : 'center';
    ctx.fillText(formatWeight(tick.value), tx, y + height + 6);
  }
  ctx.textAlign = 'left';
  ctx.fillStyle = THEME.text;
  ctx.font = `12px ${THEME.font}`;
  ctx.textBaseline = 'bottom';
  ctx.fillText(caption, x, y - 4);
}
