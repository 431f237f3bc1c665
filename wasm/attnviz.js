// attnviz: the engine in WebAssembly, as a small JS API.
//
//   import { loadModel } from './attnviz.js';
//   const model = await loadModel(jsonTextOrArrayBuffer);   // rejects with an Error naming the problem
//   const r = model.run('pig');                             // or model.run('pig', { target: 'igpay' })
//   r.srcTokens, r.tgtTokens, r.output, r.notices
//   r.encoderSelf / r.decoderSelf / r.cross                 // null when the model has no such kind
//     -> { layers, heads, rows, cols, data: Float32Array [layers][heads][rows][cols], head(l, h) }
//
// What a run records is bounded: when one kind's attention for every layer and head would take
// more than captureLimit floats (default DEFAULT_CAPTURE_LIMIT, 32 MiB: a 6-layer, 8-head model
// at about 400 tokens), only layer captureLayers[kind] (0-based) of that kind is recorded,
// every head of it, and r.notices says so (counting layers from 1, as the page shows them).
// Such a view has complete false, firstLayer and recordedLayers naming the layers it holds,
// data [recordedLayers][heads][rows][cols], and head(l, h) null for the layers it lacks. Ask for the full set with captureLimit: 0:
//   model.run(text, { captureLimit: 0 });
//   model.run(text, { captureLayers: { encoderSelf: 2, cross: 5 } });  // the layers to keep if cut
//   model.info(); model.dispose();
//
// Probes (exact: they run inside the engine's forward pass):
//   model.setAblations([{ kind: 'cross', layer: 1, head: 2, mode: 'zero' }, ...]);  // [] clears
//     kind: 'encoderSelf' | 'decoderSelf' | 'cross' (or encoder_self / decoder_self); layer and
//     head 0-based; mode 'zero' (the head's output is 0) or 'uniform' (its pattern is uniform over
//     the keys its mask allows). Holds for every later run of this model; model.ablations() lists
//     them. Throws a RangeError for a kind the model lacks or a layer/head out of range.
//   const r = model.run('pig', { scores: true, valueNorms: true });
//   r.scores.encoderSelf / .decoderSelf / .cross    // pre-softmax q.k / sqrt(d_head), masks
//     applied (masked = -Infinity); same shape and layout as that kind's attention
//   r.valueNorms.encoderSelf / ...                  // rows = 1: [layers][heads][1][keys], the norm
//     ||v_j W_O^h|| of each key's value through the head's slice of the output projection
//     (Kobayashi et al. 2020); a_ij * norm_j is the value-weighted attention
//   r.scores / r.valueNorms are null when not asked for; their kinds are null when the model
//   lacks them. Both are views like the attention ones (same lifetime).
//
// Attention is not copied out of wasm memory: `data` is a view over the engine's buffer,
// re-created whenever memory has grown, so it is never stale. It holds the latest run of
// that model: keep a copy (`data.slice()`) to compare across runs.
//
// In the browser the .wasm file is fetched beside this module. Under Node, pass its bytes:
//   await initEngine({ wasmBinary: fs.readFileSync(new URL('./attnviz_core.wasm', import.meta.url)) });
// All models share one engine instance.
//
// An aborted instance is not a dead page. If the engine traps or aborts during a call (out of
// memory, a bug: Emscripten calls onAbort and throws a WebAssembly.RuntimeError), that
// instance is marked dead and the call throws an EngineAbortedError (`error.engineAborted`,
// `error.reason`). Every model of the dead instance then throws the same error, dispose() on
// it is a no-op, and the next loadModel()/initEngine() starts a fresh instance (with the
// options given before), so the caller reloads its model from its bytes and carries on.
//
// Debug hooks (for tests and the page's own checks): engineMemoryBytes(), engineStatus(),
// debugAbortEngine().

import createAttnvizModule from './attnviz_core.js';

/** Floats one kind of attention may take before a run records one layer of it (32 MiB). */
export const DEFAULT_CAPTURE_LIMIT = 8 << 20;

const KINDS = [
  ['encoderSelf', 'encoder_self', 0],
  ['decoderSelf', 'decoder_self', 1],
  ['cross', 'cross', 2],
];

/** Thrown by any call when the engine instance aborted during it, or had aborted before. */
export class EngineAbortedError extends Error {
  constructor(reason, message) {
    super(message || `the attnviz engine stopped (${reason})`);
    this.name = 'EngineAbortedError';
    this.engineAborted = true;
    this.reason = reason;
  }
}

let current = null;       // the engine instance: { generation, promise, mod, dead, reason, models }
let generation = 0;
let savedOptions = {};    // the factory options, reused when a dead instance is replaced
let aborts = 0;
let armedTraps = 0;       // debugAbortEngine({ nextCall: true }): calls still to trap

/** Starts the engine once; later calls return the same instance, or a fresh one after an abort. */
export function initEngine(options) {
  if (options && Object.keys(options).length) savedOptions = options;
  if (current && !current.dead) return current.promise;
  const instance = { generation: ++generation, promise: null, mod: null, dead: false, reason: '', models: new Set() };
  const { onAbort } = savedOptions;
  instance.promise = createAttnvizModule({
    ...savedOptions,
    onAbort(what) {
      markDead(instance, abortReason(what));
      if (typeof onAbort === 'function') onAbort(what);
    },
  }).then((mod) => {
    instance.mod = mod;
    instance.warmedUp = warmUp(mod);
    return mod;
  }, (error) => {
    if (current === instance) current = null;
    throw new Error(`the attnviz engine could not start: ${error.message || error}`);
  });
  current = instance;
  return instance.promise;
}

// A seq2seq model of zeros (d_model 8, one layer each side), built here. V8 compiles a wasm
// function on its first call, so loading and running this once when the engine starts
// compiles the load and run paths: the first real model then loads about twice as fast, and
// the first keystroke does not wait for a compiler. A failure here only skips the warm-up.
function warmUpModel() {
  const d = 8;
  const zeros = (count) => btoa('\0'.repeat(count * 4));
  const tensors = {};
  const add = (name, shape) => { tensors[name] = { shape, dtype: 'float32', data: zeros(shape.reduce((a, b) => a * b, 1)) }; };
  const attention = (prefix) => {
    add(`${prefix}.in_proj_weight`, [3 * d, d]);
    add(`${prefix}.in_proj_bias`, [3 * d]);
    add(`${prefix}.out_proj.weight`, [d, d]);
    add(`${prefix}.out_proj.bias`, [d]);
  };
  const block = (prefix, norms) => {
    add(`${prefix}.linear1.weight`, [d, d]);
    add(`${prefix}.linear1.bias`, [d]);
    add(`${prefix}.linear2.weight`, [d, d]);
    add(`${prefix}.linear2.bias`, [d]);
    for (let i = 1; i <= norms; i++) {
      add(`${prefix}.norm${i}.weight`, [d]);
      add(`${prefix}.norm${i}.bias`, [d]);
    }
  };
  const vocab = ['<pad>', '<bos>', '<eos>', 'a'];
  add('src.weight', [vocab.length, d]);
  add('tgt.weight', [vocab.length, d]);
  attention('encoder.layers.0.self_attn');
  block('encoder.layers.0', 2);
  attention('decoder.layers.0.self_attn');
  attention('decoder.layers.0.multihead_attn');
  block('decoder.layers.0', 3);
  add('out.weight', [vocab.length, d]);
  add('out.bias', [vocab.length]);
  return JSON.stringify({
    format: 'attnviz-weights',
    version: 1,
    config: {
      architecture: 'seq2seq', d_model: d, nhead: 2, num_encoder_layers: 1, num_decoder_layers: 1,
      dim_feedforward: d, activation: 'relu', norm_first: false, layer_norm_eps: 1e-5,
      encoder_norm: false, decoder_norm: false, causal: false, embed_scale: 1, positional: 'sinusoidal',
      max_len: 8, max_output_len: 4, output_bias: true,
    },
    modules: { src_embedding: 'src.weight', tgt_embedding: 'tgt.weight', encoder: 'encoder', decoder: 'decoder', output: 'out' },
    tokenizer: {
      level: 'char', lowercase: false, src_vocab: vocab, tgt_vocab: vocab,
      specials: { pad: 0, bos: 1, eos: 2, unk: null }, src_bos: false, src_eos: true, pad_src: false,
      src_key_padding_mask: false,
    },
    tensors,
  });
}

/** True when the warm-up model loaded and ran. */
function warmUp(mod) {
  try {
    const handle = withBytes(mod, encoder.encode(warmUpModel()), (pointer, length) => mod._attnviz_load(pointer, length));
    if (!handle) return false;
    const ran = withBytes(mod, encoder.encode('aa'), (pointer, length) => mod._attnviz_run(handle, pointer, length, 0, 0, 0, 0));
    mod._attnviz_dispose(handle);
    return !!ran;
  } catch {
    return false;  // an engine that cannot run this says so on the first real call
  }
}

function abortReason(what) {
  const text = String(what?.message ?? what ?? '').replace(/^Aborted\((.*)\)(\. Build with.*)?$/s, '$1').trim();
  return text || 'aborted';
}

function markDead(instance, reason) {
  if (instance.dead) return;
  instance.dead = true;
  instance.reason = reason;
  aborts += 1;
  for (const model of instance.models) model._handle = 0;
  instance.models.clear();
  // Drop the module so its memory can be collected once the caller lets go of old results.
  instance.mod = null;
  instance.promise = Promise.reject(new EngineAbortedError(reason));
  instance.promise.catch(() => {});
}

function deadError(instance) {
  return new EngineAbortedError(instance.reason,
    `the attnviz engine stopped (${instance.reason}); load the model again to restart it`);
}

// Deliberately makes the engine trap inside wasm: free() of an address past the end of any
// possible memory (4 GiB - 256) is an out-of-bounds access, a real WebAssembly.RuntimeError.
function trap(mod) {
  mod._free(-256);
  // Not reached in any build seen so far; if an allocator ever ignores the pointer, abort the
  // way Emscripten does.
  throw new WebAssembly.RuntimeError('Aborted(debugAbortEngine)');
}

/** Calls fn(mod) on a live instance; a trap or abort in it marks the instance dead. */
function call(instance, fn) {
  if (instance.dead) throw deadError(instance);
  try {
    if (armedTraps > 0) {
      armedTraps -= 1;
      trap(instance.mod);
    }
    return fn(instance.mod);
  } catch (error) {
    if (instance.dead || error instanceof WebAssembly.RuntimeError) {
      markDead(instance, instance.reason || abortReason(error));
      throw new EngineAbortedError(instance.reason);
    }
    throw error;
  }
}

/** Bytes of wasm memory of the current instance (0 before it starts or after it died). */
export function engineMemoryBytes() {
  return current?.mod ? current.mod.HEAPU8.buffer.byteLength : 0;
}

/** { generation, alive, reason, models (live handles), memoryBytes, aborts } of the engine. */
export function engineStatus() {
  return {
    generation: current?.generation ?? 0,
    alive: !!current?.mod && !current.dead,
    reason: current?.reason ?? '',
    models: current?.models.size ?? 0,
    warmedUp: !!current?.warmedUp,
    memoryBytes: engineMemoryBytes(),
    aborts,
  };
}

/**
 * Test hook: makes the engine trap for real inside wasm. Default: now (the page learns of it on
 * its next call). { nextCall: true }: the next call into the engine (a run, a load, reading
 * attention) traps instead, as an abort in the middle of work would.
 */
export function debugAbortEngine({ nextCall = false } = {}) {
  if (nextCall) {
    armedTraps += 1;
    return;
  }
  if (!current?.mod || current.dead) return;
  try { call(current, trap); } catch (error) { if (!error.engineAborted) throw error; }
}

const encoder = new TextEncoder();

// Copies bytes into wasm memory for the duration of fn(pointer, length).
function withBytes(mod, bytes, fn) {
  const pointer = mod._malloc(Math.max(1, bytes.length));
  if (!pointer) throw new Error('out of memory in the attnviz engine');
  let result;
  try {
    mod.HEAPU8.set(bytes, pointer);
    result = fn(pointer, bytes.length);
  } catch (error) {
    // After a trap the instance is finished: leave its memory alone.
    if (!(error instanceof WebAssembly.RuntimeError)) mod._free(pointer);
    throw error;
  }
  mod._free(pointer);
  return result;
}

function asBytes(source) {
  if (typeof source === 'string') return encoder.encode(source);
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  throw new TypeError('loadModel expects the weights as a JSON string, an ArrayBuffer or a typed array');
}

const ABLATION_KINDS = { encoderSelf: 0, encoder_self: 0, decoderSelf: 1, decoder_self: 1, cross: 2 };
const ABLATION_MODES = { zero: 1, uniform: 2 };

/** { encoderSelf, decoderSelf, cross } views of one probe buffer ('scores' | 'value_norms'). */
function probeViews(model, dimsByKind, source) {
  const views = {};
  for (const [name, key, kind] of KINDS) {
    views[name] = dimsByKind?.[key] ? new AttentionView(model, kind, dimsByKind[key], source) : null;
  }
  return views;
}

function lastError(mod) {
  return mod.UTF8ToString(mod._attnviz_last_error());
}

/** One kind of attention of the latest run, viewed in place. */
class AttentionView {
  /** source: which buffer of the run: 'attention', 'scores' or 'value_norms'. */
  constructor(model, kind, dims, source = 'attention') {
    this.layers = dims.layers;
    this.heads = dims.heads;
    this.rows = dims.rows;
    this.cols = dims.cols;
    this.firstLayer = dims.first_layer ?? 0;
    this.recordedLayers = dims.recorded_layers ?? dims.layers;
    this._model = model;
    this._kind = kind;
    this._source = source;
    this._view = null;
  }

  /** Whether every layer was recorded (see the capture limit at the top of this file). */
  get complete() {
    return this.recordedLayers === this.layers;
  }

  hasLayer(layer) {
    return layer >= this.firstLayer && layer < this.firstLayer + this.recordedLayers;
  }

  /** Float32Array [recorded layers][heads][rows][cols] over wasm memory. */
  get data() {
    const model = this._model;
    model._checkAlive();
    return call(model._instance, (mod) => {
      const heap = mod.HEAPF32;
      if (!this._view || this._view.buffer !== heap.buffer) {
        const pointer = mod[`_attnviz_${this._source}`](model._handle, this._kind);
        if (!pointer) throw new Error(`this run has no ${this._source.replace('_', ' ')} of that kind`);
        this._view = new Float32Array(heap.buffer, pointer, this.recordedLayers * this.heads * this.rows * this.cols);
      }
      return this._view;
    });
  }

  /** The [rows][cols] matrix of one head, as a view; null for a layer the run did not record. */
  head(layer, head) {
    if (!this.hasLayer(layer)) return null;
    const size = this.rows * this.cols;
    const start = ((layer - this.firstLayer) * this.heads + head) * size;
    return this.data.subarray(start, start + size);
  }
}

class Model {
  constructor(instance, handle) {
    this._instance = instance;
    this._handle = handle;
    this._ablations = [];
    this._captures = '00';  // scores, value norms: the engine records neither until asked
    instance.models.add(this);
    this._info = JSON.parse(call(instance, (mod) => mod.UTF8ToString(mod._attnviz_info(handle))));
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
  run(text, {
    target = null, continuation = 0, scores = false, valueNorms = false,
    captureLimit = DEFAULT_CAPTURE_LIMIT, captureLayers = {},
  } = {}) {
    this._checkAlive();
    this._setCaptures(!!scores, !!valueNorms);
    this._setCaptureLimit(captureLimit, captureLayers);
    const hasTarget = target !== null && target !== undefined;
    const textBytes = encoder.encode(String(text));
    const targetBytes = encoder.encode(hasTarget ? String(target) : '');
    const json = call(this._instance, (mod) => withBytes(mod, textBytes, (textPointer, textLength) =>
      withBytes(mod, targetBytes, (targetPointer, targetLength) => {
        const pointer = mod._attnviz_run(this._handle, textPointer, textLength, hasTarget ? 1 : 0,
          targetPointer, targetLength, continuation | 0);
        if (!pointer) throw new Error(lastError(mod));
        return mod.UTF8ToString(pointer);
      })));
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
      result[name] = raw.attention[key] ? new AttentionView(this, kind, raw.attention[key]) : null;
    }
    result.scores = scores ? probeViews(this, raw.scores, 'scores') : null;
    result.valueNorms = valueNorms ? probeViews(this, raw.value_norms, 'value_norms') : null;
    return result;
  }

  /**
   * Head ablations for every later run (see the top of this file); [] clears them. Checked
   * here against the model's shape, so a bad entry throws now and leaves the previous list.
   */
  setAblations(list = []) {
    this._checkAlive();
    if (!Array.isArray(list)) throw new TypeError('setAblations expects an array of { kind, layer, head, mode }');
    const config = this._info.config;
    const seq2seq = config.architecture === 'seq2seq';
    const quads = new Int32Array(Math.max(1, list.length * 4));
    const kept = list.map((entry, i) => {
      const kind = ABLATION_KINDS[entry?.kind];
      if (kind === undefined || (!seq2seq && kind !== 0)) {
        throw new RangeError(`ablation ${i}: this model has no attention kind "${entry?.kind}"`);
      }
      const layers = kind === 0 ? config.num_encoder_layers : config.num_decoder_layers;
      const { layer, head } = entry;
      if (!Number.isInteger(layer) || layer < 0 || layer >= layers) {
        throw new RangeError(`ablation ${i}: layer ${layer} is out of range (0..${layers - 1})`);
      }
      if (!Number.isInteger(head) || head < 0 || head >= config.nhead) {
        throw new RangeError(`ablation ${i}: head ${head} is out of range (0..${config.nhead - 1})`);
      }
      const mode = ABLATION_MODES[entry.mode];
      if (!mode) throw new RangeError(`ablation ${i}: mode must be 'zero' or 'uniform', not "${entry.mode}"`);
      quads.set([kind, layer, head, mode], i * 4);
      return { kind: KINDS[kind][0], layer, head, mode: entry.mode };
    });
    call(this._instance, (mod) => withBytes(mod, new Uint8Array(quads.buffer), (pointer) => {
      if (!mod._attnviz_set_ablations(this._handle, pointer, list.length)) throw new Error(lastError(mod));
    }));
    this._ablations = kept;
  }

  /** The ablations in force, as { kind, layer, head, mode } with kind 'encoderSelf' etc. */
  ablations() {
    return (this._ablations || []).map((a) => ({ ...a }));
  }

  _setCaptures(scores, valueNorms) {
    const key = `${scores ? 1 : 0}${valueNorms ? 1 : 0}`;
    if (this._captures === key) return;
    call(this._instance, (mod) => {
      if (!mod._attnviz_set_captures(this._handle, scores ? 1 : 0, valueNorms ? 1 : 0)) throw new Error(lastError(mod));
    });
    this._captures = key;
  }

  _setCaptureLimit(limit, layers) {
    const floats = Number.isFinite(limit) && limit > 0 ? Math.min(Math.floor(limit), 2 ** 31 - 1) : 0;
    const kept = KINDS.map(([name]) => (Number.isInteger(layers?.[name]) ? layers[name] : 0));
    const key = [floats, ...kept].join(',');
    if (this._captureLimit === key) return;
    call(this._instance, (mod) => {
      if (!mod._attnviz_set_capture_limit(this._handle, floats, ...kept)) throw new Error(lastError(mod));
    });
    this._captureLimit = key;
  }

  /** Frees the model's memory in the engine. The object is unusable afterwards. */
  dispose() {
    const instance = this._instance;
    const handle = this._handle;
    this._handle = 0;
    if (!instance.models.delete(this) || !handle || instance.dead) return;  // a dead engine freed it all
    call(instance, (mod) => mod._attnviz_dispose(handle));
  }

  /** False once disposed or once its engine instance stopped. */
  get alive() {
    return !!this._handle && !this._instance.dead;
  }

  _checkAlive() {
    if (this._instance.dead) throw deadError(this._instance);
    if (!this._handle) throw new Error('this model has been disposed');
  }
}

/** Loads a weights file (docs/weights-format.md). Rejects with an Error naming the problem. */
export async function loadModel(source, engineOptions) {
  const bytes = asBytes(source);
  await initEngine(engineOptions);
  const instance = current;
  const handle = call(instance, (mod) => {
    const h = withBytes(mod, bytes, (pointer, length) => mod._attnviz_load(pointer, length));
    if (!h) throw new Error(lastError(mod));
    return h;
  });
  return new Model(instance, handle);
}
