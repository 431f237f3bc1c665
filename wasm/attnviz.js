// attnviz: the engine in WebAssembly, as a small JS API.
//
//   import { loadModel } from './attnviz.js';
//   const model = await loadModel(jsonTextOrArrayBuffer);   // rejects with an Error naming the problem
//   const r = model.run('pig');                             // or model.run('pig', { target: 'igpay' })
//   r.srcTokens, r.tgtTokens, r.output, r.notices
//   r.encoderSelf / r.decoderSelf / r.cross                 // null when the model has no such kind
//     -> { layers, heads, rows, cols, data: Float32Array [layers][heads][rows][cols], head(l, h) }
//   model.info(); model.dispose();
//
// Attention is not copied out of wasm memory: `data` is a view over the engine's buffer,
// re-created whenever memory has grown, so it is never stale. It holds the latest run of
// that model: keep a copy (`data.slice()`) to compare across runs.
//
// In the browser the .wasm file is fetched beside this module. Under Node, pass its bytes:
//   await initEngine({ wasmBinary: fs.readFileSync(new URL('./attnviz_core.wasm', import.meta.url)) });
// All models share one engine instance.

import createAttnvizModule from './attnviz_core.js';

const KINDS = [
  ['encoderSelf', 'encoder_self', 0],
  ['decoderSelf', 'decoder_self', 1],
  ['cross', 'cross', 2],
];

let enginePromise = null;

/** Starts the engine once; later calls return the same instance. */
export function initEngine(options = {}) {
  if (!enginePromise) {
    enginePromise = createAttnvizModule(options).catch((error) => {
      enginePromise = null;
      throw new Error(`the attnviz engine could not start: ${error.message || error}`);
    });
  }
  return enginePromise;
}

const encoder = new TextEncoder();

// Copies bytes into wasm memory for the duration of fn(pointer, length).
function withBytes(mod, bytes, fn) {
  const pointer = mod._malloc(Math.max(1, bytes.length));
  if (!pointer) throw new Error('out of memory in the attnviz engine');
  try {
    mod.HEAPU8.set(bytes, pointer);
    return fn(pointer, bytes.length);
  } finally {
    mod._free(pointer);
  }
}

function asBytes(source) {
  if (typeof source === 'string') return encoder.encode(source);
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  throw new TypeError('loadModel expects the weights as a JSON string, an ArrayBuffer or a typed array');
}

function lastError(mod) {
  return mod.UTF8ToString(mod._attnviz_last_error());
}

/** One kind of attention of the latest run, viewed in place. */
class AttentionView {
  constructor(mod, handle, kind, dims) {
    this.layers = dims.layers;
    this.heads = dims.heads;
    this.rows = dims.rows;
    this.cols = dims.cols;
    this._mod = mod;
    this._handle = handle;
    this._kind = kind;
    this._view = null;
  }

  /** Float32Array [layers][heads][rows][cols] over wasm memory. */
  get data() {
    const heap = this._mod.HEAPF32;
    if (!this._view || this._view.buffer !== heap.buffer) {
      const pointer = this._mod._attnviz_attention(this._handle, this._kind);
      this._view = new Float32Array(heap.buffer, pointer, this.layers * this.heads * this.rows * this.cols);
    }
    return this._view;
  }

  /** The [rows][cols] matrix of one head, as a view. */
  head(layer, head) {
    const size = this.rows * this.cols;
    const start = (layer * this.heads + head) * size;
    return this.data.subarray(start, start + size);
  }
}

class Model {
  constructor(mod, handle) {
    this._mod = mod;
    this._handle = handle;
    this._info = JSON.parse(mod.UTF8ToString(mod._attnviz_info(handle)));
  }

  /** { config, parameters, tokenizer, metadata } as read from the weights file. */
  info() {
    this._checkAlive();
    return this._info;
  }

  /**
   * Runs the model on text. Options: target (seq2seq: teacher-force this output instead of
   * decoding greedily), continuation (causal LM: greedy tokens after the text).
   * Throws an Error naming the problem (unknown characters, empty text).
   */
  run(text, { target = null, continuation = 0 } = {}) {
    this._checkAlive();
    const mod = this._mod;
    const hasTarget = target !== null && target !== undefined;
    const textBytes = encoder.encode(String(text));
    const targetBytes = encoder.encode(hasTarget ? String(target) : '');
    const json = withBytes(mod, textBytes, (textPointer, textLength) =>
      withBytes(mod, targetBytes, (targetPointer, targetLength) => {
        const pointer = mod._attnviz_run(this._handle, textPointer, textLength, hasTarget ? 1 : 0,
          targetPointer, targetLength, continuation | 0);
        if (!pointer) throw new Error(lastError(mod));
        return mod.UTF8ToString(pointer);
      }));
    const raw = JSON.parse(json);
    const result = {
      srcTokens: raw.src_tokens,
      tgtTokens: raw.tgt_tokens,
      output: raw.output,
      outputIds: raw.output_ids,
      nextIds: raw.next_ids || null,
      notices: raw.notices,
    };
    for (const [name, key, kind] of KINDS) {
      result[name] = raw.attention[key] ? new AttentionView(mod, this._handle, kind, raw.attention[key]) : null;
    }
    return result;
  }

  /** Frees the model's memory in the engine. The object is unusable afterwards. */
  dispose() {
    if (this._handle) this._mod._attnviz_dispose(this._handle);
    this._handle = 0;
  }

  _checkAlive() {
    if (!this._handle) throw new Error('this model has been disposed');
  }
}

/** Loads a weights file (docs/weights-format.md). Rejects with an Error naming the problem. */
export async function loadModel(source, engineOptions) {
  const mod = await initEngine(engineOptions);
  const bytes = asBytes(source);
  const handle = withBytes(mod, bytes, (pointer, length) => mod._attnviz_load(pointer, length));
  if (!handle) throw new Error(lastError(mod));
  return new Model(mod, handle);
}
