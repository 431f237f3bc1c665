// Our WebAssembly engine's job, shared by Node (bench/bench_wasm.mjs) and the Chromium page
// (bench/browser_bench.mjs), through the module's plain C exports: _attnviz_encode for the
// encoder alone, _attnviz_run for the whole job (tokenize, encode, greedy decode, every
// attention captured in wasm memory; the call returns the run's JSON summary).
import { scaleText, timeRuns } from './timing.mjs';

// The JS API's default bound on what a run records (wasm/attnviz.js DEFAULT_CAPTURE_LIMIT):
// past it, one layer of a kind. The scale rows time both the full capture and the bounded one.
const CAPTURE_LIMIT = 8 << 20;

function bytesIn(mod, bytes) {
  const pointer = mod._malloc(Math.max(1, bytes.length));
  mod.HEAPU8.set(bytes, pointer);
  return pointer;
}

function load(mod, weights) {
  const pointer = bytesIn(mod, weights);
  const handle = mod._attnviz_load(pointer, weights.length);
  mod._free(pointer);
  if (!handle) throw new Error(mod.UTF8ToString(mod._attnviz_last_error()));
  return handle;
}

/**
 * mod: an instantiated attnviz_core module; weights: the JSON file's bytes (Uint8Array).
 * Options: text, budgetMs, scale (source lengths for encoder-only timings), job (false: scale
 * only). Returns { encoder_ms, job_ms, tokens, reps, scale?, heap_bytes }.
 */
export function attnvizBench(mod, weights, { text, budgetMs = 1000, scale = [], job = true }) {
  const handle = load(mod, weights);
  const encoder = new TextEncoder();
  const result = {};
  const withText = (t) => {
    const bytes = encoder.encode(t);
    return [bytesIn(mod, bytes), bytes.length];
  };
  if (job) {
    const [pointer, length] = withText(text);
    const encode = () => {
      if (!mod._attnviz_encode(handle, pointer, length)) throw new Error(mod.UTF8ToString(mod._attnviz_last_error()));
    };
    let summary = 0;
    const run = () => { summary = mod._attnviz_run(handle, pointer, length, 0, 0, 0, 0); };
    const enc = timeRuns(encode, { budgetMs });
    const full = timeRuns(run, { budgetMs });
    if (!summary) throw new Error(mod.UTF8ToString(mod._attnviz_last_error()));
    const parsed = JSON.parse(mod.UTF8ToString(summary));
    Object.assign(result, {
      encoder_ms: enc.ms, job_ms: full.ms, tokens: parsed.output_ids, reps: { encoder: enc.reps, job: full.reps },
    });
    mod._free(pointer);
  }
  if (scale.length) {
    result.scale = [];
    for (const n of scale) {
      const [pointer, length] = withText(scaleText(n));
      const encode = () => {
        if (!mod._attnviz_encode(handle, pointer, length)) throw new Error(mod.UTF8ToString(mod._attnviz_last_error()));
      };
      const r = timeRuns(encode, { budgetMs, minReps: 3 });
      const row = { n, ms: r.ms, reps: r.reps };
      const recorded = () => {
        const dims = JSON.parse(mod.UTF8ToString(mod._attnviz_encode(handle, pointer, length))).attention.encoder_self;
        return { full: dims.layers * dims.heads * dims.rows * dims.cols, kept: dims.recorded_layers * dims.heads * dims.rows * dims.cols };
      };
      if (recorded().full > CAPTURE_LIMIT) {
        mod._attnviz_set_capture_limit(handle, CAPTURE_LIMIT, 0, 0, 0);
        const bounded = timeRuns(encode, { budgetMs, minReps: 3 });
        row.bounded = { ms: bounded.ms, reps: bounded.reps, ...recorded() };
        mod._attnviz_set_capture_limit(handle, 0, 0, 0, 0);
      }
      result.scale.push(row);
      mod._free(pointer);
    }
  }
  result.heap_bytes = mod.HEAPU8.length;
  mod._attnviz_dispose(handle);
  return result;
}

/**
 * Load time (parse + validate + ready, from the bytes in JS memory) of one weights file:
 * [median, min, max] of `times` loads, and the first of them (the cold one, as a page's
 * first load sees it) in .first.
 */
export function loadTimes(mod, weights, times = 7) {
  const ms = [];
  for (let i = 0; i < times; i++) {
    const start = performance.now();
    const handle = load(mod, weights);
    ms.push(performance.now() - start);
    mod._attnviz_dispose(handle);
  }
  const first = ms[0];
  ms.sort((a, b) => a - b);
  return Object.assign([ms[ms.length >> 1], ms[0], ms[ms.length - 1]], { first });
}
