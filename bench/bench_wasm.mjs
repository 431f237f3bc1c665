// Times the WebAssembly engine under Node on one weights file, as bench_native does natively:
// the encoder alone and the whole job (greedy decode with attention captured), medians over
// repetitions (the job itself is in attnviz_job.mjs, shared with the Chromium page). Prints
// one JSON line like bench_native's.
//
// usage: node bench/bench_wasm.mjs WEIGHTS TEXT [--budget-ms=1000] [--scale=16,64,...] [--scale-only] [--site=DIR]
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { attnvizBench } from './attnviz_job.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const [weightsPath, text, ...rest] = process.argv.slice(2);
const options = Object.fromEntries(rest.map((a) => a.replace(/^--/, '').split('=')));
// bench/run's own build by default, else the usual one; --site= to choose.
const site = path.resolve(root, options.site
  || (fs.existsSync(path.join(root, 'build/bench/wasm/web/attnviz_core.js')) ? 'build/bench/wasm/web' : 'build/wasm/web'));
const { default: createAttnvizModule } = await import(path.join(site, 'attnviz_core.js'));
const mod = await createAttnvizModule({ wasmBinary: fs.readFileSync(path.join(site, 'attnviz_core.wasm')) });
const result = attnvizBench(mod, fs.readFileSync(weightsPath), {
  text,
  budgetMs: Number(options['budget-ms'] || 1000),
  scale: options.scale ? options.scale.split(',').map(Number) : [],
  job: !('scale-only' in options),
});
console.log(JSON.stringify({ engine: 'attnviz wasm, Node', ...result }));
