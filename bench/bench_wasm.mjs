// Times the WebAssembly engine under Node on one weights file, as bench_native does natively:
// the encoder alone and the whole job (greedy decode with attention captured), medians over
// repetitions. Prints one JSON line like bench_native's.
//
// usage: node bench/bench_wasm.mjs WEIGHTS TEXT [REPETITIONS]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const site = path.join(root, 'build/wasm/web');
const { default: createAttnvizModule } = await import(path.join(site, 'attnviz_core.js'));

const [weightsPath, text, repetitionsArg] = process.argv.slice(2);
const repetitions = Number(repetitionsArg || 200);
const mod = await createAttnvizModule({ wasmBinary: fs.readFileSync(path.join(site, 'attnviz_core.wasm')) });

function bytesIn(bytes) {
  const pointer = mod._malloc(bytes.length);
  mod.HEAPU8.set(bytes, pointer);
  return pointer;
}

const weights = fs.readFileSync(weightsPath);
const weightsPointer = bytesIn(weights);
const handle = mod._attnviz_load(weightsPointer, weights.length);
mod._free(weightsPointer);
if (!handle) throw new Error(mod.UTF8ToString(mod._attnviz_last_error()));
const textBytes = new TextEncoder().encode(text);
const textPointer = bytesIn(textBytes);

function timeRuns(fn) {
  for (let i = 0; i < 5; i++) fn();
  const ms = [];
  for (let i = 0; i < repetitions; i++) {
    const start = performance.now();
    fn();
    ms.push(performance.now() - start);
  }
  ms.sort((a, b) => a - b);
  return [ms[ms.length >> 1], ms[0], ms[ms.length - 1]];
}

const encoderMs = timeRuns(() => mod._attnviz_encode(handle, textPointer, textBytes.length));
let summary = null;
const jobMs = timeRuns(() => { summary = mod._attnviz_run(handle, textPointer, textBytes.length, 0, 0, 0, 0); });
const result = JSON.parse(mod.UTF8ToString(summary));
console.log(JSON.stringify({ engine: 'attnviz wasm, Node', encoder_ms: encoderMs, job_ms: jobMs, tokens: result.output_ids }));
