// The onnxruntime-web peer under Node (wasm backend, one thread); the job is in ort_job.mjs.
// Prints one JSON line like bench_native's.
//
// usage: node bench/bench_ort.mjs ENCODER.onnx DECODER.onnx TEXT [--budget-ms=1000] [--scale=16,64,...]
import fs from 'node:fs';
import * as ort from 'onnxruntime-web';
import { ortBench } from './ort_job.mjs';

const [encoderPath, decoderPath, text, ...rest] = process.argv.slice(2);
const options = Object.fromEntries(rest.map((a) => a.replace(/^--/, '').split('=')));
const result = await ortBench(ort, {
  encoderModel: fs.readFileSync(encoderPath),
  decoderModel: fs.readFileSync(decoderPath),
  text,
  budgetMs: Number(options['budget-ms'] || 1000),
  scale: options.scale ? options.scale.split(',').map(Number) : [],
});
console.log(JSON.stringify({ ...result, engine: 'onnxruntime-web, Node' }));
