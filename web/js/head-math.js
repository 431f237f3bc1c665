// Math of the "inside one head" and value-weighted views, as pure functions over flat
// Float32Arrays (no DOM; tested under Node by tests/web/rollout.test.mjs against
// tools/make_rollout_reference.py).

/**
 * The [rows][cols] block of head (layer, head) of a view { heads, rows, cols, data }, whose
 * data starts at layer view.firstLayer (0 when absent; see the capture limit in attnviz.js).
 */
export function headBlock(view, layer, head) {
  const size = view.rows * view.cols;
  const start = ((layer - (view.firstLayer ?? 0)) * view.heads + head) * size;
  return view.data.subarray(start, start + size);
}

/**
 * Row-wise softmax of scores / temperature into out: masked entries (-Infinity) get 0, a row
 * that is masked everywhere is all 0. temperature 1 gives back the model's attention; the page
 * uses other values for display only (the model always runs at 1).
 */
export function softmaxRows(scores, rows, cols, temperature, out = new Float32Array(rows * cols)) {
  const inverse = 1 / temperature;
  for (let r = 0; r < rows; r++) {
    const base = r * cols;
    let max = -Infinity;
    for (let c = 0; c < cols; c++) if (scores[base + c] > max) max = scores[base + c];
    if (max === -Infinity) {
      out.fill(0, base, base + cols);
      continue;
    }
    let sum = 0;
    for (let c = 0; c < cols; c++) {
      const s = scores[base + c];
      const e = s === -Infinity ? 0 : Math.exp((s - max) * inverse);
      out[base + c] = e;
      sum += e;
    }
    for (let c = 0; c < cols; c++) out[base + c] /= sum;
  }
  return out;
}

/** { low, high } over the finite entries (masked -Infinity left out); 0, 0 when none are. */
export function finiteRange(values, n = values.length) {
  let low = Infinity;
  let high = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = values[i];
    if (v === -Infinity || v === Infinity || Number.isNaN(v)) continue;
    if (v < low) low = v;
    if (v > high) high = v;
  }
  return low === Infinity ? { low: 0, high: 0 } : { low, high };
}

/**
 * Value-weighted attention (Kobayashi et al. 2020): out[i][j] = a_ij * ||v_j W_O^h||, the norm of
 * the vector key j actually adds to query i's output through head h. attention: the kind's
 * view [layers][heads][rows][cols] (read through headBlock); norms: its value-norm view
 * [layers][heads][1][cols].
 * head < 0: the mean over the heads of each head's a_ij * norm_j.
 */
export function valueWeighted(attention, norms, layer, head, out = new Float32Array(attention.rows * attention.cols)) {
  const { rows, cols, heads } = attention;
  const size = rows * cols;
  const n = norms.data;
  const list = head < 0 ? Array.from({ length: heads }, (_, h) => h) : [head];
  const scale = 1 / list.length;
  out.fill(0, 0, size);
  for (const h of list) {
    const a = headBlock(attention, layer, h);
    const normStart = (layer * heads + h) * cols;
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) out[r * cols + c] += a[r * cols + c] * n[normStart + c] * scale;
    }
  }
  return out.subarray(0, size);
}

/** The norms ||v_j W_O^h|| of one head ([cols]), or their mean over heads for head < 0. */
export function valueNormRow(norms, layer, head, out = new Float32Array(norms.cols)) {
  const { heads, cols } = norms;
  const list = head < 0 ? Array.from({ length: heads }, (_, h) => h) : [head];
  out.fill(0, 0, cols);
  for (const h of list) {
    const start = (layer * heads + h) * cols;
    for (let c = 0; c < cols; c++) out[c] += norms.data[start + c] / list.length;
  }
  return out;
}
