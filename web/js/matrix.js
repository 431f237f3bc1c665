// Operations on flat row-major attention matrices (Float32Array [rows][cols]).
// Outputs go into caller-owned buffers (grown with `ensure`) so the keystroke path allocates
// nothing once the buffers have reached the largest size seen.

/** Returns buffer if it holds at least size floats, else a new larger Float32Array. */
export function ensure(buffer, size) {
  return buffer && buffer.length >= size ? buffer : new Float32Array(Math.max(size, 64));
}

/** Mean over the heads of one layer: attention.head(layer, h) averaged into out[rows*cols]. */
export function averageHeads(attention, layer, out) {
  const size = attention.rows * attention.cols;
  out.fill(0, 0, size);
  const scale = 1 / attention.heads;
  for (let h = 0; h < attention.heads; h++) {
    const head = attention.head(layer, h);
    for (let i = 0; i < size; i++) out[i] += head[i] * scale;
  }
  return out.subarray(0, size);
}

/** Copies the rows rowIndex[] and columns colIndex[] of matrix [*][cols] into out. */
export function gather(matrix, cols, rowIndex, colIndex, out) {
  const nr = rowIndex.length;
  const nc = colIndex.length;
  for (let r = 0; r < nr; r++) {
    const base = rowIndex[r] * cols;
    for (let c = 0; c < nc; c++) out[r * nc + c] = matrix[base + colIndex[c]];
  }
  return out.subarray(0, nr * nc);
}

/** Log scale spans this many decades below the maximum; smaller weights share the lowest colour. */
export const LOG_DECADES = 3;

/**
 * Maps weights to [0, 1] for colouring, into out[rows*cols].
 * scale 'global': divide by the matrix maximum; 'row': divide by each row's maximum.
 * log: log10 of the ratio to that maximum, over LOG_DECADES decades.
 * Returns the legend's range { low, high, relative }: values shown at t = 0 and t = 1
 * (relative: in units of the row maximum).
 */
export function normalise(matrix, rows, cols, { scale, log }, out) {
  const perRow = scale === 'row';
  let globalMax = 0;
  if (!perRow) for (let i = 0; i < rows * cols; i++) if (matrix[i] > globalMax) globalMax = matrix[i];
  const floor = Math.pow(10, -LOG_DECADES);
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let max = globalMax;
    if (perRow) {
      max = 0;
      for (let c = 0; c < cols; c++) if (matrix[base + c] > max) max = matrix[base + c];
    }
    const inverse = max > 0 ? 1 / max : 0;
    for (let c = 0; c < cols; c++) {
      const ratio = matrix[base + c] * inverse;
      out[base + c] = log ? (ratio > floor ? 1 + Math.log10(ratio) / LOG_DECADES : 0) : ratio;
    }
  }
  const high = perRow ? 1 : globalMax;
  return { low: log ? high * floor : 0, high, relative: perRow, log: !!log };
}

/** Indices of the tokens to show: all, or all but the padding token. */
export function visibleIndices(tokens, showPadding, padToken) {
  const index = [];
  for (let i = 0; i < tokens.length; i++) if (showPadding || tokens[i] !== padToken) index.push(i);
  return index;
}

/** Whether index is 0..n-1 in order (nothing hidden). */
export function isIdentity(index, n) {
  return index.length === n;
}
