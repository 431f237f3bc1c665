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
    return mod;
  }, (error) => {
    if (current === instance) current = null;
    throw new Error(`the attnviz engine could not start: ${error.message || error}`);
  });
  current = instance;
  return instance.promise;
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

function lastError(mod) {
  return mod.UTF8ToString(mod._attnviz_last_error());
}

/** One kind of attention of the latest run, viewed in place. */
class AttentionView {
  constructor(model, kind, dims) {
    this.layers = dims.layers;
    this.heads = dims.heads;
    this.rows = dims.rows;
    this.cols = dims.cols;
    this._model = model;
    this._kind = kind;
    this._view = null;
  }

  /** Float32Array [layers][heads][rows][cols] over wasm memory. */
  get data() {
    const model = this._model;
    model._checkAlive();
    return call(model._instance, (mod) => {
      const heap = mod.HEAPF32;
      if (!this._view || this._view.buffer !== heap.buffer) {
        const pointer = mod._attnviz_attention(model._handle, this._kind);
        this._view = new Float32Array(heap.buffer, pointer, this.layers * this.heads * this.rows * this.cols);
      }
      return this._view;
    });
  }

  /** The [rows][cols] matrix of one head, as a view. */
  head(layer, head) {
    const size = this.rows * this.cols;
    const start = (layer * this.heads + head) * size;
    return this.data.subarray(start, start + size);
  }
}

class Model {
  constructor(instance, handle) {
    this._instance = instance;
    this._handle = handle;
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
  run(text, { target = null, continuation = 0 } = {}) {
    this._checkAlive();
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
    return result;
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
