// The onnxruntime-web peer's job, shared by Node (bench/bench_ort.mjs) and the Chromium page
// (bench/browser_bench.mjs): the graphs of bench/export_onnx.py on the wasm backend, one
// thread. The whole job is: tokenize, run the encoder graph (memory + encoder attention), then
// 12 greedy steps, each re-running the decoder graph on the growing prefix (as the seed
// decodes; the graph has no key/value cache) and reading the last row's argmax. Every
// attention tensor is a graph output, so it is computed and handed to JS each run.
import { BOS, DECODE_STEPS, scaleText, sourceIds, timeRunsAsync } from './timing.mjs';

function ids(ort, list) {
  return new ort.Tensor('int64', BigInt64Array.from(list, (v) => BigInt(v)), [1, list.length]);
}

function argmaxLastRow(logits) {
  const [, rows, vocab] = logits.dims;
  const data = logits.data;
  let best = 0;
  for (let v = 1, base = (rows - 1) * vocab; v < vocab; v++) if (data[base + v] > data[base + best]) best = v;
  return best;
}

/**
 * ort: the onnxruntime-web module; encoderModel/decoderModel: the .onnx bytes (or URLs).
 * Returns { engine, encoder_ms, job_ms, tokens, reps, scale? }.
 */
export async function ortBench(ort, { encoderModel, decoderModel, text, budgetMs = 1000, scale = [] }) {
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.proxy = false;
  const options = { executionProviders: ['wasm'], graphOptimizationLevel: 'all' };
  const encoder = await ort.InferenceSession.create(encoderModel, options);
  const decoder = await ort.InferenceSession.create(decoderModel, options);

  const encode = async (input) => encoder.run({ src: ids(ort, sourceIds(input)) });
  const job = async () => {
    const { memory, encoder_self: encoderSelf } = await encode(text);
    const generated = [];
    let attention = null;
    for (let step = 0; step < DECODE_STEPS; step++) {
      const out = await decoder.run({ memory, tgt: ids(ort, [BOS, ...generated]) });
      generated.push(argmaxLastRow(out.logits));
      attention = out;
    }
    return { generated, encoderSelf, decoderSelf: attention.decoder_self, cross: attention.cross };
  };

  const { generated } = await job();
  const enc = await timeRunsAsync(() => encode(text), { budgetMs });
  const full = await timeRunsAsync(job, { budgetMs });
  const result = {
    engine: 'onnxruntime-web', version: ort.env.versions?.web || '',
    encoder_ms: enc.ms, job_ms: full.ms, tokens: generated, reps: { encoder: enc.reps, job: full.reps },
  };
  if (scale.length) {
    result.scale = [];
    for (const n of scale) {
      const t = scaleText(n);
      const r = await timeRunsAsync(() => encode(t), { budgetMs, minReps: 3 });
      result.scale.push({ n, ms: r.ms, reps: r.reps });
    }
  }
  await encoder.release();
  await decoder.release();
  return result;
}
