// Runs in the headless Chromium page that bench/run.mjs opens (served by bench/server.mjs):
// our wasm engine and the onnxruntime-web peer, with the same jobs as under Node. The page is
// cross-origin isolated (COOP/COEP), so performance.now() has its fine resolution.
//   /site/   our built site (attnviz.js, attnviz_core.js/.wasm)
//   /ort/    node_modules/onnxruntime-web/dist
//   /models/ build/bench (weights JSON and .onnx)
import { attnvizBench, loadTimes } from './attnviz_job.mjs';
import { ortBench } from './ort_job.mjs';

async function bytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** Our engine: jobs on each { weights, text, scale, job } in runs, and load times for loadModels. */
export async function attnviz({ runs, loadModels = [], budgetMs }) {
  const startup0 = performance.now();
  const { initEngine } = await import('/site/attnviz.js');
  const mod = await initEngine();
  const startupMs = performance.now() - startup0;
  const out = { engine: 'attnviz wasm, Chromium', isolated: self.crossOriginIsolated, startup_ms: startupMs, runs: [], load: [] };
  for (const file of loadModels) {
    try {
      const ms = loadTimes(mod, await bytes(`/models/${file}`));
      out.load.push({ file, ms: [...ms], first: ms.first });
    } catch (error) {
      out.load.push({ file, error: `${file}: ${error.message || error}` });
    }
  }
  for (const run of runs) {
    try {
      const weights = await bytes(`/models/${run.weights}`);
      out.runs.push({ ...run, ...attnvizBench(mod, weights, { ...run, budgetMs }) });
    } catch (error) {
      out.runs.push({ ...run, error: `${run.weights}: ${error.message || error}` });
    }
  }
  return out;
}

/** onnxruntime-web, wasm backend, one thread: jobs on each { shape, text, scale }. */
export async function onnxruntime({ runs, budgetMs }) {
  const ort = await import('/ort/ort.wasm.min.mjs');
  ort.env.wasm.wasmPaths = '/ort/';
  const out = { engine: 'onnxruntime-web, Chromium', isolated: self.crossOriginIsolated, runs: [] };
  for (const run of runs) {
    try {
      const result = await ortBench(ort, {
        encoderModel: await bytes(`/models/${run.shape}_encoder.onnx`),
        decoderModel: await bytes(`/models/${run.shape}_decoder.onnx`),
        text: run.text, scale: run.scale || [], budgetMs,
      });
      out.runs.push({ ...run, ...result });
    } catch (error) {
      out.runs.push({ ...run, error: `${run.shape}: ${error.message || error}` });
    }
  }
  return out;
}
