// The benchmark table (issue 7): runs every engine on the same weights, one after another,
// checks that all of them produced the same greedy tokens, then prints one Markdown table.
// Called by bench/run after the builds; expects:
//   build/bench/native/bin/bench_native, build/bench/wasm/web/ (our engine, native and wasm)
//   build/bench/{small,large,large512}.json         (bench/make_models.py)
//   build/bench/{small,large}_{encoder,decoder}.onnx (bench/export_onnx.py)
//
// usage: node bench/run.mjs [--budget-ms=500] [--no-scale] [--no-refblas] [--allow-mismatch]
//   --budget-ms: time spent per cell (repetitions = budget / run time, clamped to 7..300;
//   warm-ups first: 3 calls and 250 ms, or 1 call past 100 ms; the scale rows take at least 3).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { launch } from '../tests/e2e/browser.mjs';
import { serveBench } from './server.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'build/bench');
const SITE = path.join(OUT, 'wasm/web');
const NATIVE = path.join(OUT, 'native/bin/bench_native');
const LOG = path.join(OUT, 'run.log');
const OPENBLAS_DIR = '/usr/lib/x86_64-linux-gnu/openblas-pthread';
const REFBLAS_DIR = '/usr/lib/x86_64-linux-gnu/blas';

const args = Object.fromEntries(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=')));
const BUDGET = Number(args['budget-ms'] || 500);
const TEXT = 'attention';
const SHAPES = ['small', 'large'];
const SCALE = 'no-scale' in args ? [] : [16, 64, 256, 512];
const SCALE_ARG = SCALE.length ? [`--scale=${SCALE.join(',')}`] : [];
const started = Date.now();
fs.writeFileSync(LOG, `bench/run ${new Date().toISOString()}\n`);
const log = (line) => fs.appendFileSync(LOG, `${line}\n`);

// ---------------------------------------------------------------------------------------
// Running the engines. Each driver prints one JSON line; failures are kept, not fatal.

const results = {};   // engine -> shape ('small' | 'large' | 'scale') -> { encoder_ms, job_ms, tokens, scale }
const problems = [];

function record(engine, shape, value) {
  (results[engine] ||= {})[shape] = value;
}

function runDriver(engine, command, argv, env = {}) {
  const t0 = Date.now();
  const child = spawnSync(command, argv, {
    cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20, env: { ...process.env, ...env },
  });
  log(`$ ${Object.entries(env).map(([k, v]) => `${k}=${v} `).join('')}${command} ${argv.join(' ')}  (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  log(child.stderr || '');
  const line = (child.stdout || '').trim().split('\n').pop();
  log(line || '');
  if (child.status !== 0 || !line) {
    // Short lines only: a failing Emscripten module prints its whole one-line source first.
    const stderr = (child.stderr || String(child.error || '')).trim().split('\n').filter((l) => l.length < 300);
    const why = stderr.find((l) => /error|failed|refused|too large/i.test(l)) || stderr.slice(-2).join(' | ');
    problems.push(`${engine}, ${path.basename(argv.find((a) => /\.(json|onnx)$/.test(a)) || argv[0] || '')}: exit ${child.status}: ${(why || '').trim()}`);
    return null;
  }
  return JSON.parse(line);
}

const ENGINES = {
  native: 'attnviz native',
  node: 'attnviz wasm, Node',
  chromium: 'attnviz wasm, Chromium',
  ortChromium: 'onnxruntime-web, Chromium',
  ortNode: 'onnxruntime-web, Node',
  torch: 'PyTorch eager + OpenBLAS',
  torchRef: 'PyTorch eager + ref. BLAS',
};

function weights(name) { return path.join(OUT, `${name}.json`); }

// Our engine, natively and under Node.
for (const shape of SHAPES) {
  record('native', shape, runDriver(ENGINES.native, NATIVE, [weights(shape), TEXT, `--budget-ms=${BUDGET}`]));
  record('node', shape, runDriver(ENGINES.node, 'node', ['bench/bench_wasm.mjs', weights(shape), TEXT, `--budget-ms=${BUDGET}`]));
}
if (SCALE.length) {
  record('native', 'scale', runDriver(ENGINES.native, NATIVE, [weights('large512'), TEXT, `--budget-ms=${BUDGET}`, ...SCALE_ARG, '--scale-only']));
  record('node', 'scale', runDriver(ENGINES.node, 'node', ['bench/bench_wasm.mjs', weights('large512'), TEXT, `--budget-ms=${BUDGET}`, ...SCALE_ARG, '--scale-only']));
}

// onnxruntime-web under Node (the large graphs also give the scale rows: same weights, 512 positions).
for (const shape of SHAPES) {
  const onnx = (part) => path.join(OUT, `${shape}_${part}.onnx`);
  const r = runDriver(ENGINES.ortNode, 'node', ['bench/bench_ort.mjs', onnx('encoder'), onnx('decoder'), TEXT,
    `--budget-ms=${BUDGET}`, ...(shape === 'large' ? SCALE_ARG : [])]);
  record('ortNode', shape, r);
  if (r?.scale) record('ortNode', 'scale', r);
}

// Headless Chromium: our engine, then onnxruntime-web, each in a fresh page.
let chromiumInfo = {};
{
  const server = await serveBench({
    '/site/': SITE,
    '/ort/': path.join(ROOT, 'node_modules/onnxruntime-web/dist'),
    '/models/': OUT,
    '/bench/': path.join(ROOT, 'bench'),
  });
  const chromium = await launch();
  try {
    chromiumInfo.version = chromium.browser.version();
    const inPage = async (engine, fn, config) => {
      const t0 = Date.now();
      const context = await chromium.browser.newContext();
      const page = await context.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(String(e)));
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
      try {
        await page.goto(server.url);
        return await page.evaluate(async ([name, cfg]) => (await import('/bench/browser_bench.mjs'))[name](cfg), [fn, config]);
      } catch (error) {
        problems.push(`${engine}: ${String(error.message || error).split('\n')[0]} ${errors.join(' | ')}`);
        return null;
      } finally {
        log(`chromium ${fn}: ${((Date.now() - t0) / 1000).toFixed(1)} s ${errors.join(' | ')}`);
        await context.close();
      }
    };
    const ours = await inPage(ENGINES.chromium, 'attnviz', {
      budgetMs: BUDGET,
      loadModels: ['small.json'],
      runs: [
        ...SHAPES.map((shape) => ({ shape, weights: `${shape}.json`, text: TEXT })),
        ...(SCALE.length ? [{ shape: 'scale', weights: 'large512.json', text: TEXT, scale: SCALE, job: false }] : []),
      ],
    });
    log(JSON.stringify(ours));
    if (ours) {
      chromiumInfo = { ...chromiumInfo, isolated: ours.isolated, startup_ms: ours.startup_ms, load: ours.load };
      for (const run of ours.runs) {
        if (run.error) problems.push(`${ENGINES.chromium}: ${run.error}`);
        else record('chromium', run.shape, run);
      }
      for (const l of ours.load) if (l.error) problems.push(`${ENGINES.chromium}, load: ${l.error}`);
    }
    const ort = await inPage(ENGINES.ortChromium, 'onnxruntime', {
      budgetMs: BUDGET,
      runs: SHAPES.map((shape) => ({ shape, text: TEXT, scale: shape === 'large' ? SCALE : [] })),
    });
    log(JSON.stringify(ort));
    if (ort) {
      for (const run of ort.runs) {
        if (run.error) {
          problems.push(`${ENGINES.ortChromium}: ${run.error}`);
          continue;
        }
        record('ortChromium', run.shape, run);
        if (run.scale) record('ortChromium', 'scale', run);
      }
    }
  } finally {
    await chromium.close();
    await server.close();
  }
}

// PyTorch eager, one thread: OpenBLAS first on the library path, then the reference BLAS.
const torchRuns = [['torch', OPENBLAS_DIR], ...('no-refblas' in args ? [] : [['torchRef', REFBLAS_DIR]])];
for (const [key, dir] of torchRuns) {
  if (!fs.existsSync(path.join(dir, 'libblas.so.3'))) {
    problems.push(`${ENGINES[key]}: ${dir}/libblas.so.3 is missing (apt-get install ${key === 'torch' ? 'libopenblas0-pthread' : 'libblas3'})`);
    continue;
  }
  const env = {
    LD_LIBRARY_PATH: [dir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':'),
    OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1',
  };
  for (const shape of SHAPES) {
    const scale = key === 'torch' && shape === 'large' ? SCALE_ARG : [];
    const r = runDriver(ENGINES[key], '/usr/bin/python3', ['bench/bench_torch.py', shape, TEXT, `--budget-ms=${BUDGET}`, ...scale], env);
    if (r && !r.blas.includes(path.basename(dir))) problems.push(`${ENGINES[key]}: expected ${dir}, the process mapped ${r.blas}`);
    record(key, shape, r);
    if (r?.scale) record(key, 'scale', r);
  }
}

// The matrix product alone (bench_matmul.cpp), native (SSE2) and wasm (Node), same code.
const MATMUL = {
  native: runDriver('matmul native', path.join(OUT, 'native/bin/bench_matmul'), ['--budget-ms=100']),
  wasm: runDriver('matmul wasm', 'node', [path.join(OUT, 'wasm/bin/bench_matmul.cjs'), '--budget-ms=100']),
};

// ---------------------------------------------------------------------------------------
// The tokens check: every engine's greedy output must be the same before any figure is shown.

const mismatches = [];
const reference = {};
for (const shape of SHAPES) {
  for (const key of Object.keys(ENGINES)) {
    const tokens = results[key]?.[shape]?.tokens;
    if (!tokens) continue;
    reference[shape] ||= { key, tokens };
    if (JSON.stringify(tokens) !== JSON.stringify(reference[shape].tokens)) {
      mismatches.push(`${shape}: ${ENGINES[key]} gave [${tokens}], ${ENGINES[reference[shape].key]} gave [${reference[shape].tokens}]`);
      results[key][shape].mismatch = true;
    }
  }
}
if (mismatches.length && !('allow-mismatch' in args)) {
  console.error('bench/run: the engines disagree on the greedy tokens; no figures printed.');
  for (const m of mismatches) console.error(`  ${m}`);
  for (const p of problems) console.error(`  problem: ${p}`);
  console.error(`details: ${path.relative(ROOT, LOG)}`);
  process.exit(1);
}

// ---------------------------------------------------------------------------------------
// The table.

const fmt = (v) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toFixed(3));
const cell = (t) => (t ? `${fmt(t[0])} (${fmt(t[1])}-${fmt(t[2])})` : 'n/a');
const get = (key, shape, field) => {
  const r = results[key]?.[shape];
  if (!r || r.mismatch) return null;
  return r[field] || null;
};
const order = Object.keys(ENGINES);
const cpu = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) || [])[1] || os.cpus()[0]?.model;
const loadStart = process.env.BENCH_LOAD_START || os.loadavg()[0].toFixed(2);
const git = spawnSync('git', ['describe', '--always', '--dirty'], { cwd: ROOT, encoding: 'utf8' }).stdout?.trim() || 'unknown';
const torchVersion = results.torch?.small?.torch || results.torchRef?.small?.torch || '?';
const ortVersion = results.ortNode?.small?.version || results.ortChromium?.small?.version || '?';

const lines = [];
const out = (s = '') => lines.push(s);
out(`attnviz benchmark, ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}, commit ${git}`);
out(`machine: ${cpu}; nproc ${os.cpus().length}; 1-min load average ${loadStart} at start, ${os.loadavg()[0].toFixed(2)} at end (shared machine)`);
out(`software: Node ${process.version}, ${chromiumInfo.version ? `Chromium ${chromiumInfo.version}` : 'Chromium n/a'}` +
  `${chromiumInfo.isolated === false ? ' (not cross-origin isolated: coarse timer)' : ''}, onnxruntime-web ${ortVersion} (wasm, 1 thread), ` +
  `PyTorch ${torchVersion} (1 thread), ${BUDGET} ms per cell`);
out();
out(`Input "${TEXT}" (10 source tokens), 12 greedy decode steps, every attention captured. ms per run: median (min-max).`);
out('small: d_model 128, 8 heads, 3+3 layers, ff 512 (1.4 M parameters); large: d_model 256, 8 heads, 6+6 layers, ff 1024 (11.1 M).');
out('attnviz: key/value cache; onnxruntime-web and PyTorch re-run the decoder on the growing prefix, as the seed decodes.');
out();
const ROWS = [
  ['small: encoder only', 'small', 'encoder_ms', 0.5],
  ['small: whole job', 'small', 'job_ms', 2],
  ['large: encoder only', 'large', 'encoder_ms', 4],
  ['large: whole job', 'large', 'job_ms', 20],
];
out(`| | ${order.map((k) => ENGINES[k]).join(' | ')} | target (Chromium) |`);
out(`| --- | ${order.map(() => '---').join(' | ')} | --- |`);
for (const [label, shape, field, target] of ROWS) {
  const ours = get('chromium', shape, field);
  const verdict = ours ? (ours[0] <= target ? 'met' : 'not met') : '';
  out(`| ${label} | ${order.map((k) => cell(get(k, shape, field))).join(' | ')} | <= ${target} ms ${verdict} |`);
}
out();
out('Ratios, peer / ours: of the medians (of the minima); above 1: ours is faster.');
const RATIOS = [
  ['onnxruntime-web / ours, both Chromium', 'ortChromium', 'chromium'],
  ['onnxruntime-web / ours, both Node', 'ortNode', 'node'],
  ['PyTorch + OpenBLAS / ours native', 'torch', 'native'],
  ['PyTorch + OpenBLAS / ours in Chromium', 'torch', 'chromium'],
  ['PyTorch + ref. BLAS / ours native', 'torchRef', 'native'],
];
out(`| | ${RATIOS.map((r) => r[0]).join(' | ')} |`);
out(`| --- | ${RATIOS.map(() => '---').join(' | ')} |`);
for (const [label, shape, field] of ROWS) {
  const ratio = ([, peer, ours]) => {
    const a = get(peer, shape, field);
    const b = get(ours, shape, field);
    return a && b ? `${(a[0] / b[0]).toFixed(1)}x (min ${(a[1] / b[1]).toFixed(1)}x)` : 'n/a';
  };
  out(`| ${label} | ${RATIOS.map(ratio).join(' | ')} |`);
}
out();
const tokenLine = SHAPES.map((shape) => {
  const agreeing = order.filter((k) => results[k]?.[shape]?.tokens && !results[k][shape].mismatch).length;
  const r = reference[shape];
  return `${shape} [${r ? r.tokens.join(' ') : 'none'}] from ${agreeing} engines`;
}).join('; ');
out(`Greedy tokens${mismatches.length ? ' (MISMATCH, see below)' : ' identical in every engine'}: ${tokenLine}.`);

if (SCALE.length) {
  out();
  out('Scale: encoder only, large shape (same weights, 512-position table), n source tokens. ms per run: median (min-max).');
  const scaleEngines = ['native', 'node', 'chromium', 'ortNode', 'ortChromium', 'torch'];
  out(`| n | attention captured (6 x 8 x n^2 x 4 B) | ${scaleEngines.map((k) => ENGINES[k]).join(' | ')} | target |`);
  out(`| --- | --- | ${scaleEngines.map(() => '---').join(' | ')} | --- |`);
  for (const n of SCALE) {
    const bytes = 6 * 8 * n * n * 4;
    const mem = bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(0)} KiB`;
    const ms = (k) => cell(results[k]?.scale?.scale?.find((s) => s.n === n)?.ms);
    const ours = results.chromium?.scale?.scale?.find((s) => s.n === n)?.ms;
    const target = n === 512 ? `<= 150 ms${ours ? (ours[0] <= 150 ? ' met' : ' not met') : ''}` : '';
    out(`| ${n} | ${mem} | ${scaleEngines.map(ms).join(' | ')} | ${target} |`);
  }
  const heap = results.chromium?.scale?.heap_bytes;
  if (heap) out(`Our wasm heap after the n = 512 run in Chromium: ${(heap / (1 << 20)).toFixed(0)} MiB (weights, buffers and the captured attention).`);
  const mib = (floats) => `${(floats * 4 / (1 << 20)).toFixed(1)} MiB`;
  for (const s of results.chromium?.scale?.scale ?? []) {
    if (!s.bounded) continue;
    out(`With the JS API's default capture limit (8 Mi floats, 32 MiB, a kind), n = ${s.n} records one layer: ${mib(s.bounded.kept)} instead of ${mib(s.bounded.full)}, ${cell(s.bounded.ms)} ms in Chromium (full capture ${cell(s.ms)} ms).`);
  }
}

if (MATMUL.native && MATMUL.wasm) {
  out();
  out('Matrix product y = x W + b (core/ops.cpp linear) alone: wasm in Node / native SSE2 build of the same code, GFLOP/s and ratio; median of batches.');
  const products = MATMUL.native.products.map((p, i) => ({ ...p, wasm: MATMUL.wasm.products[i] }));
  const shapes = [...new Set(products.map((p) => `${p.k}x${p.n}`))];
  out(`| m \\ k x n | ${shapes.join(' | ')} |`);
  out(`| --- | ${shapes.map(() => '---').join(' | ')} |`);
  for (const m of [...new Set(products.map((p) => p.m))]) {
    const at = (shape) => products.find((p) => p.m === m && `${p.k}x${p.n}` === shape);
    out(`| ${m} | ${shapes.map((shape) => {
      const p = at(shape);
      return `${p.wasm.gflops.toFixed(1)} / ${p.gflops.toFixed(1)} (${(p.wasm.gflops / p.gflops).toFixed(2)})`;
    }).join(' | ')} |`);
  }
  const ratios = products.map((p) => p.wasm.gflops / p.gflops);
  const geomean = Math.exp(ratios.reduce((s, r) => s + Math.log(r), 0) / ratios.length);
  const identical = products.every((p) => p.check === p.wasm.check);
  out(`wasm / native: geometric mean ${geomean.toFixed(2)}, lowest ${Math.min(...ratios).toFixed(2)}; target >= 0.75: ${geomean >= 0.75 ? 'met' : 'not met'} (geometric mean). ` +
    `Results ${identical ? 'bit-identical' : 'DIFFERENT'} in both builds.`);
  // Native only: Node 20's V8 runs the same wasm loop well below what the memory gives
  // (Chromium's runs it near the native figure), so its number would not be the floor.
  if (MATMUL.native.stream) {
    out(`The memory floor of a decode step: one in-order read of ${MATMUL.native.stream.mib} MiB (what each decode step of the large model reads) ` +
      `runs at ${MATMUL.native.stream.gbps.toFixed(1)} GB/s natively on one core.`);
  }
  // Native only: Node 20's V8 keeps this one-call loop in its baseline tier.
  if (MATMUL.native.peak) {
    const peak = MATMUL.native.peak.gflops;
    // Encoder flops: per layer the four projections and two feed-forward products (2 n d (3d + d
    // + 2 ff)) and the two products inside attention (2 x 2 n^2 d), on the bench shapes.
    const encoderFlops = (n, d, ff, layers) => layers * (2 * n * d * (4 * d + 2 * ff) + 4 * n * n * d);
    const floorMs = (flops) => (flops / (peak * 1e6)).toPrecision(3);
    out(`The arithmetic ceiling: four-lane multiplies and adds alone (12 chains, nothing loaded; wasm SIMD has no fused multiply-add) ` +
      `run at ${peak.toFixed(1)} GFLOP/s natively on one core. At that rate the small encoder (10 tokens) takes at least ` +
      `${floorMs(encoderFlops(10, 128, 512, 3))} ms, the large one ${floorMs(encoderFlops(10, 256, 1024, 6))} ms, ` +
      `and n = 512 on the large shape (${(encoderFlops(512, 256, 1024, 6) / 1e9).toFixed(2)} GFLOP) ${floorMs(encoderFlops(512, 256, 1024, 6))} ms.`);
  }
}

out();
const shipped = ['attnviz_core.wasm', 'attnviz_core.js', 'attnviz.js'].map((f) => {
  const body = fs.readFileSync(path.join(SITE, f));
  return { f, bytes: body.length, gz: zlib.gzipSync(body, { level: 9 }).length };
});
const total = shipped.reduce((s, x) => s + x.bytes, 0);
const totalGz = shipped.reduce((s, x) => s + x.gz, 0);
out(`Shipped wasm + JS: ${(total / 1024).toFixed(1)} KiB uncompressed (${shipped.map((x) => `${x.f} ${x.bytes}`).join(', ')} bytes), ` +
  `${(totalGz / 1024).toFixed(1)} KiB gzip -9; target <= 400 KB uncompressed: ${total <= 400 * 1000 ? 'met' : 'not met'}.`);
const load = chromiumInfo.load?.[0];
if (load?.ms) {
  out(`Model load in Chromium (small, ${(fs.statSync(weights('small')).size / 1e6).toFixed(1)} MB JSON, bytes in memory -> parse + validate + ready): first load ${fmt(load.first)} ms, ` +
    `7 loads ${cell(load.ms)} ms; target <= 60 ms: ${load.ms[0] <= 60 ? 'met' : 'not met'}. Engine start (fetch + compile + instantiate the wasm): ${fmt(chromiumInfo.startup_ms)} ms.`);
}
const reps = (key, shape) => results[key]?.[shape]?.reps;
out(`Repetitions per cell (after warm-ups: 3 calls and 250 ms, or 1 call past 100 ms): ${order.map((k) => {
  const r = SHAPES.map((s) => reps(k, s)).filter(Boolean);
  return r.length ? `${ENGINES[k]} ${r.map((x) => `${x.encoder}/${x.job}`).join(', ')}` : null;
}).filter(Boolean).join('; ')} (encoder/job, small then large).`);
if (mismatches.length) for (const m of mismatches) out(`MISMATCH ${m}`);
for (const p of problems) out(`problem: ${p}`);
out(`(${((Date.now() - started) / 1000).toFixed(0)} s of measuring; details in ${path.relative(ROOT, LOG)})`);
console.log(lines.join('\n'));
process.exit(problems.length || mismatches.length ? 1 : 0);
