// The WebAssembly API under Node: valid and invalid weights files, and, for the same
// weights and input, attention bit-for-bit equal to the native CLI's (core/ops.cpp fixes the
// order of every sum and rounds as the scalar code would, in both builds).
// Needs the native build (build/bin/attnviz) and the wasm build (build/wasm/web).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const site = path.join(root, 'build/wasm/web');
const cli = path.join(root, 'build/bin/attnviz');
const fixtures = path.join(root, 'tests/fixtures');

const { engineStatus, initEngine, loadModel } = await import(path.join(site, 'attnviz.js'));
await initEngine({ wasmBinary: fs.readFileSync(path.join(site, 'attnviz_core.wasm')) });

const KINDS = { encoder_self: 'encoderSelf', decoder_self: 'decoderSelf', cross: 'cross' };

function runCli(args) {
  return JSON.parse(execFileSync(cli, ['run', ...args], { encoding: 'utf8', maxBuffer: 1 << 28 }));
}

function cliError(weightsText) {
  const file = path.join(fs.mkdtempSync('/tmp/attnviz-wasm-'), 'bad.json');
  fs.writeFileSync(file, weightsText);
  try {
    execFileSync(cli, ['check', '--weights', file], { stdio: 'pipe' });
    return null;
  } catch (error) {
    return error.stderr.toString().trim().replace(`attnviz: ${file}: `, '');
  }
}

const fixtureCases = fs.readdirSync(fixtures)
  .filter((name) => name.endsWith('.expected.json'))
  .map((name) => JSON.parse(fs.readFileSync(path.join(fixtures, name), 'utf8')));

test('the committed fixtures exist', () => {
  assert.ok(fixtureCases.length >= 3);
});

for (const fixture of fixtureCases) {
  test(`wasm equals the native CLI on ${fixture.weights}`, async () => {
    const weightsPath = path.join(fixtures, fixture.weights);
    const model = await loadModel(fs.readFileSync(weightsPath));
    try {
      for (const c of fixture.cases) {
        const args = ['--weights', weightsPath, '--text', c.text];
        const options = {};
        if (typeof c.target === 'string') {
          args.push('--target', c.target);
          options.target = c.target;
        }
        if (c.continue) {
          args.push('--continue', String(c.continue));
          options.continuation = c.continue;
        }
        const native = runCli(args);
        const ours = model.run(c.text, options);
        assert.deepEqual(ours.srcTokens, native.src_tokens);
        assert.deepEqual(ours.tgtTokens, native.tgt_tokens);
        assert.equal(ours.output, native.output);
        assert.deepEqual(ours.outputIds, native.output_ids);
        for (const [key, name] of Object.entries(KINDS)) {
          const expected = native.attention[key];
          if (!expected) {
            assert.equal(ours[name], null, `${key} should be absent`);
            continue;
          }
          const view = ours[name];
          const flat = expected.flat(3);
          assert.deepEqual([view.layers, view.heads, view.rows], [expected.length, expected[0].length, expected[0][0].length]);
          assert.equal(view.data.length, flat.length);
          let differing = 0, worst = 0;
          for (let i = 0; i < flat.length; i++) {
            differing += view.data[i] !== flat[i];
            worst = Math.max(worst, Math.abs(view.data[i] - flat[i]));
          }
          assert.equal(differing, 0, `${key}: ${differing} of ${flat.length} weights differ (max abs diff ${worst})`);
        }
      }
    } finally {
      model.dispose();
    }
  });
}

test('loads from a string, an ArrayBuffer and a Uint8Array', async () => {
  const bytes = fs.readFileSync(path.join(root, 'docs/example-weights.json'));
  for (const source of [bytes.toString('utf8'), bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length), new Uint8Array(bytes)]) {
    const model = await loadModel(source);
    assert.equal(model.info().config.architecture, 'causal_lm');
    model.dispose();
  }
});

test('invalid files reject with the same message as the native loader', async () => {
  const valid = fs.readFileSync(path.join(root, 'docs/example-weights.json'), 'utf8');
  const doc = JSON.parse(valid);
  const mutate = (fn) => { const copy = structuredClone(doc); fn(copy); return JSON.stringify(copy); };
  const bad = {
    'not JSON': 'hello',
    truncated: valid.slice(0, valid.length / 2),
    'unknown version': mutate((d) => { d.version = 7; }),
    'missing tensor': mutate((d) => { delete d.tensors[Object.keys(d.tensors)[0]]; }),
    'unknown tensor': mutate((d) => { d.tensors.extra = d.tensors[Object.keys(d.tensors)[0]]; }),
    'bad nhead': mutate((d) => { d.config.nhead = 3; }),
    'absurd size': mutate((d) => { d.config.d_model = 2 ** 31; }),
    'special out of range': mutate((d) => { d.tokenizer.specials.bos = 99; }),
    'deep nesting': '['.repeat(100000),
  };
  for (const [label, text] of Object.entries(bad)) {
    await assert.rejects(loadModel(text), (error) => {
      assert.ok(error instanceof Error);
      assert.equal(error.message, cliError(text), label);
      return true;
    }, label);
  }
  await assert.rejects(loadModel(42), TypeError);
});

test('run errors name the problem and the model keeps working', async () => {
  const model = await loadModel(fs.readFileSync(path.join(fixtures, 's2s_seed_small.weights.json')));
  const vocab = model.info().tokenizer.src_vocab.filter((t) => t.length === 1);
  assert.throws(() => model.run(''), /the text has no tokens/);
  assert.throws(() => model.run('\u{1F600}'), /the source vocabulary has no "\u{1F600}"/u);
  const r = model.run(vocab.slice(0, 3).join(''));
  assert.equal(r.srcTokens.length > 0, true);
  const long = model.run(vocab[0].repeat(5000));
  assert.equal(long.notices.length, 1);
  model.dispose();
  assert.throws(() => model.run('a'), /disposed/);
});

test('views survive memory growth', async () => {
  const model = await loadModel(fs.readFileSync(path.join(fixtures, 's2s_seed_small.weights.json')));
  const vocab = model.info().tokenizer.src_vocab.filter((t) => t.length === 1);
  const r = model.run(vocab.slice(0, 4).join(''));
  const before = Array.from(r.encoderSelf.data);
  const others = [];
  for (let i = 0; i < 8; i++) others.push(await loadModel(fs.readFileSync(path.join(fixtures, 's2s_seed_small.weights.json'))));
  assert.deepEqual(Array.from(r.encoderSelf.data), before);  // re-viewed over the grown memory
  assert.deepEqual(Array.from(r.encoderSelf.head(0, 1)), before.slice(r.encoderSelf.rows * r.encoderSelf.cols, 2 * r.encoderSelf.rows * r.encoderSelf.cols));
  for (const m of others) m.dispose();
  model.dispose();
});

test('past the capture limit a run records the layer asked for, says so, and captureLimit 0 records all', async () => {
  const model = await loadModel(fs.readFileSync(path.join(fixtures, 's2s_seed_small.weights.json')));
  const vocab = model.info().tokenizer.src_vocab.filter((t) => t.length === 1);
  const text = vocab.slice(0, 4).join('');
  const full = model.run(text, { captureLimit: 0 });
  const enc = full.encoderSelf;
  assert.ok(enc.layers > 1 && enc.complete);
  const fullCopy = enc.data.slice();
  const perLayer = enc.heads * enc.rows * enc.cols;
  const cut = model.run(text, { captureLimit: enc.layers * perLayer - 1, captureLayers: { encoderSelf: 1 } });
  assert.deepEqual(cut.output, full.output);
  const view = cut.encoderSelf;
  assert.equal(view.complete, false);
  assert.equal(view.firstLayer, 1);
  assert.equal(view.recordedLayers, 1);
  assert.equal(view.data.length, perLayer);
  assert.equal(view.head(0, 0), null);
  assert.deepEqual(Array.from(view.head(1, 2)), Array.from(fullCopy.subarray(perLayer + 2 * enc.rows * enc.cols, perLayer + 3 * enc.rows * enc.cols)));
  assert.match(cut.notices.join('\n'), /encoder self-attention: attention recorded for layer 2 of \d+ only \(every layer would take [\d.]+ MiB, over the capture limit/);
  // The default limit (32 MiB a kind) leaves a small model's attention whole.
  const again = model.run(text);
  assert.ok(again.encoderSelf.complete && again.cross.complete);
  assert.deepEqual(again.encoderSelf.data, fullCopy);
  model.dispose();
});

test('the engine warms its load and run paths up when it starts', () => {
  // initEngine loads and runs a model of zeros built in attnviz.js (V8 compiles on first call).
  assert.equal(engineStatus().warmedUp, true);
  assert.equal(engineStatus().models, 0);  // and disposes of it
});
