// Attention rollout (Abnar & Zuidema 2020, "Quantifying Attention Flow in Transformers"),
// computed client-side from a run's attention. Pure functions over { layers, heads, rows, cols,
// data } (an AttentionView of wasm/attnviz.js, or any object shaped like one): no DOM, so
// tests/web/rollout.test.mjs runs them under Node against tools/make_rollout_reference.py.
//
// Definitions (matrices are row-major, rows = queries, columns = keys):
//
//   Â_l = rownorm(mean_h A_l^h + I)        one self-attention layer with its residual: the
//                                          head average plus the identity (the skip
//                                          connection), each row divided by its sum. A head
//                                          ablated to zero adds 0 to the average, so a layer
//                                          whose heads are all zeroed is the identity.
//   R_1 = Â_1,  R_l = Â_l · R_{l-1}         rollout through layers 1..l; R_L[i][j] is how much
//                                          of position i at the top comes from input token j.
//                                          Rows sum to 1.
//
//   Encoder self-attention (seq2seq) and causal LMs: R_enc = R_L over the encoder (or LM)
//   layers, [S][S] (causal: lower triangular, since each Â_l is).
//
//   Seq2seq, output -> source: R_dec = R_L over the decoder self-attention layers, [T][T];
//   C̄ = mean over decoder layers and heads of cross-attention, [T][S]; then
//       source = R_dec · C̄ · R_enc,   [T][S], rows sum to 1:
//   decoder position i mixes earlier decoder positions (R_dec), each of which reads the
//   encoder's top layer (C̄), whose positions mix source tokens (R_enc). This is the variant
//   the brief names: every decoder layer's cross-attention is averaged rather than threaded
//   layer by layer, and the decoder's own residual share is not counted, so `source` answers
//   "of what came from the source, which source tokens", not "how much came from the source".

/** Â_l of layer `layer` of a square self-attention view, into out (Float64Array n*n). */
export function residualLayer(view, layer, out = new Float64Array(view.rows * view.cols)) {
  const n = view.rows;
  if (view.cols !== n) throw new Error('rollout needs square self-attention');
  const size = n * n;
  const data = view.data;
  out.fill(0, 0, size);
  const scale = 1 / view.heads;
  for (let h = 0; h < view.heads; h++) {
    const start = (layer * view.heads + h) * size;
    for (let i = 0; i < size; i++) out[i] += data[start + i] * scale;
  }
  for (let i = 0; i < n; i++) {
    out[i * n + i] += 1;
    let sum = 0;
    for (let j = 0; j < n; j++) sum += out[i * n + j];
    const inverse = sum > 0 ? 1 / sum : 0;
    for (let j = 0; j < n; j++) out[i * n + j] *= inverse;
  }
  return out;
}

/** c = a [m][k] · b [k][n] (Float64Arrays). */
function multiply(a, b, m, k, n, c = new Float64Array(m * n)) {
  c.fill(0, 0, m * n);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const x = a[i * k + p];
      if (x === 0) continue;
      const row = p * n;
      const base = i * n;
      for (let j = 0; j < n; j++) c[base + j] += x * b[row + j];
    }
  }
  return c;
}

/**
 * Rollout of a self-attention view through layers 0..upTo (0-based, default all): R, [n][n],
 * as a Float32Array.
 */
export function rolloutSelf(view, upTo = view.layers - 1) {
  const n = view.rows;
  let product = residualLayer(view, 0);
  const layer = new Float64Array(n * n);
  let scratch = new Float64Array(n * n);
  for (let l = 1; l <= upTo; l++) {
    residualLayer(view, l, layer);
    multiply(layer, product, n, n, n, scratch);
    [product, scratch] = [scratch, product];
  }
  return Float32Array.from(product);
}

/** C̄: cross-attention averaged over layers and heads, [rows][cols] as Float64Array. */
export function meanCross(view) {
  const size = view.rows * view.cols;
  const out = new Float64Array(size);
  const data = view.data;
  const count = view.layers * view.heads;
  for (let m = 0; m < count; m++) {
    const start = m * size;
    for (let i = 0; i < size; i++) out[i] += data[start + i];
  }
  for (let i = 0; i < size; i++) out[i] /= count;
  return out;
}

/**
 * Seq2seq rollout from a run's { encoderSelf, decoderSelf, cross }: { encoder [S][S],
 * decoder [T][T], source [T][S] } as Float32Arrays (definitions at the top of this file).
 */
export function rolloutSeq2seq({ encoderSelf, decoderSelf, cross }) {
  const s = encoderSelf.rows;
  const t = decoderSelf.rows;
  const encoder = rolloutSelf(encoderSelf);
  const decoder = rolloutSelf(decoderSelf);
  const throughCross = multiply(Float64Array.from(decoder), meanCross(cross), t, t, s);
  const source = multiply(throughCross, Float64Array.from(encoder), t, s, s);
  return { encoder, decoder, source: Float32Array.from(source) };
}
