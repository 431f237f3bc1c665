// Runs the malformed-weights corpus (make_corpus.py) through the WebAssembly build under Node:
// each file in a fresh engine instance (so a crash or a grown heap cannot hide behind an
// earlier file), checking the message class, the time, and how far wasm memory grew beyond
// the file's own bytes.
//
//   node tests/hardening/corpus_wasm.mjs CORPUS_DIR [--budget-mib 64] [--timeout-ms 10000]
//
// Prints one summary line; exits non-zero on any mismatch, crash, over-time or over-budget
// file. (A load is one synchronous wasm call: a hang is caught by the time check once it
// returns, and by the caller's `timeout` if it never does.)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const site = path.join(root, 'build/wasm/web');
const args = process.argv.slice(2);
const dir = args[0];
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i > 0 ? Number(args[i + 1]) : fallback;
};
const budget = option('--budget-mib', 64) * 1048576;
const timeoutMs = option('--timeout-ms', 10000);
const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
const compiled = await WebAssembly.compile(fs.readFileSync(path.join(site, 'attnviz_core.wasm')));

let generation = 0;
async function freshEngine() {
  // A new copy of the wrapper module holds a new engine instance (the wrapper keeps one).
  const api = await import(`${pathToFileURL(path.join(site, 'attnviz.js')).href}?instance=${++generation}`);
  const mod = await api.initEngine({
    instantiateWasm(imports, receive) {
      WebAssembly.instantiate(compiled, imports).then((instance) => receive(instance, compiled));
      return {};
    },
  });
  return { api, mod };
}

const mib = (bytes) => `${(bytes / 1048576).toFixed(1)} MiB`;
let asExpected = 0, rejected = 0, accepted = 0, crashes = 0, slow = 0, mismatches = 0, over = 0;
let worstMs = 0, worstMsFile = '', worstGrowth = 0, worstGrowthFile = '', peakMemory = 0;
for (const { file, expect } of manifest) {
  const bytes = fs.readFileSync(path.join(dir, file));
  const { api, mod } = await freshEngine();
  const before = mod.HEAPU8.buffer.byteLength;
  const start = performance.now();
  let ok = false, message = '', crashed = false;
  try {
    const model = await api.loadModel(bytes);
    ok = true;
    model.dispose();
  } catch (error) {
    message = String(error && error.message);
    crashed = error instanceof WebAssembly.RuntimeError || /^Aborted|RuntimeError|unreachable/.test(message);
  }
  const ms = performance.now() - start;
  // Beyond the file: the wrapper copies the file's bytes into wasm memory first.
  const growth = Math.max(0, mod.HEAPU8.buffer.byteLength - before - bytes.length);
  peakMemory = Math.max(peakMemory, mod.HEAPU8.buffer.byteLength);
  if (crashed) {
    crashes++;
    console.log(`CRASH ${file}: ${message.slice(0, 200)}`);
    continue;
  }
  const good = expect === 'ACCEPT' ? ok : !ok && new RegExp(expect).test(message);
  if (!good) {
    mismatches++;
    console.log(`MISMATCH ${file}: expected ${expect}, got ${ok ? 'ACCEPTED' : JSON.stringify(message.slice(0, 300))}`);
  }
  if (growth > budget) {
    over++;
    console.log(`BUDGET ${file}: wasm memory grew ${mib(growth)} beyond the file, over ${mib(budget)}`);
  }
  if (ms > timeoutMs) {
    slow++;
    console.log(`HANG ${file}: ${ms.toFixed(0)} ms, over ${timeoutMs} ms`);
  }
  if (good && growth <= budget && ms <= timeoutMs) {
    asExpected++;
    if (ok) accepted++;
    else rejected++;
  }
  if (ms > worstMs) [worstMs, worstMsFile] = [ms, file];
  if (growth > worstGrowth) [worstGrowth, worstGrowthFile] = [growth, file];
}
console.log(`wasm: ${asExpected}/${manifest.length} as expected (${rejected} rejected with the expected error, ` +
  `${accepted} accepted as still valid), ${crashes} crashes, ${slow} hangs, worst ${worstMs.toFixed(0)} ms ` +
  `(${worstMsFile}), wasm memory grew at most ${mib(worstGrowth)} beyond the file` +
  `${worstGrowthFile ? ` (${worstGrowthFile})` : ''}, largest wasm memory ${mib(peakMemory)}; budget ${mib(budget)}`);
process.exit(asExpected === manifest.length && !crashes && !slow && !mismatches && !over ? 0 : 1);
