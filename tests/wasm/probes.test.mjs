// The wrapper's probe API (setAblations, run({ scores, valueNorms })) under Node, against the
// PyTorch references in tests/fixtures/*.expected.json (cases with "ablations", "scores",
// "value_norms"; made by tools/attnviz_probe.py). Needs the wasm build (build/wasm/web).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const site = path.join(root, 'build/wasm/web');
const fixtures = path.join(root, 'tests/fixtures');

const { initEngine, loadModel } = await import(path.join(site, 'attnviz.js'));
await initEngine({ wasmBinary: fs.readFileSync(path.join(site, 'attnviz_core.wasm')) });

const KINDS = { encoder_self: 'encoderSelf', decoder_self: 'decoderSelf', cross: 'cross' };
const TOLERANCE = 2e-4;  // float32 engine vs float32 PyTorch, as the parity tests allow

function maxDiff(view, expected) {
  assert.deepEqual([view.layers, view.heads, view.rows, view.cols], expected.shape);
  const data = view.data;
  let worst = 0;
  for (let i = 0; i < expected.data.length; i++) {
    const want = expected.data[i];
    const got = data[i];
    if (want === null || want === -Infinity || want === '-inf') {
      assert.equal(got, -Infinity, `masked entry ${i}`);
      continue;
    }
    worst = Math.max(worst, Math.abs(got - want));
  }
  return worst;
}

const probeFixtures = fs.readdirSync(fixtures)
  .filter((name) => name.endsWith('.expected.json'))
  .map((name) => JSON.parse(fs.readFileSync(path.join(fixtures, name), 'utf8')))
  .filter((f) => f.cases.some((c) => c.ablations || c.scores || c.value_norms));

test('some fixtures have probe cases', () => assert.ok(probeFixtures.length >= 2));

for (const fixture of probeFixtures) {
  test(`ablations, scores and value norms equal PyTorch on ${fixture.weights}`, async () => {
    const model = await loadModel(fs.readFileSync(path.join(fixtures, fixture.weights)));
    try {
      for (const c of fixture.cases.filter((k) => k.ablations || k.scores || k.value_norms)) {
        model.setAblations((c.ablations || []).map((a) => ({ ...a })));
        const options = { scores: !!c.scores, valueNorms: !!c.value_norms };
        if (typeof c.target === 'string') options.target = c.target;
        if (c.continue) options.continuation = c.continue;
        const r = model.run(c.text, options);
        assert.equal(r.output, c.output, `output of ${c.text} with ${JSON.stringify(c.ablations)}`);
        for (const [key, name] of Object.entries(KINDS)) {
          if (c.attention[key]) assert.ok(maxDiff(r[name], c.attention[key]) <= TOLERANCE, `attention ${key}`);
          if (c.scores?.[key]) assert.ok(maxDiff(r.scores[name], c.scores[key]) <= TOLERANCE * 10, `scores ${key}`);
          if (c.value_norms?.[key]) assert.ok(maxDiff(r.valueNorms[name], c.value_norms[key]) <= TOLERANCE * 10, `value norms ${key}`);
        }
      }
    } finally {
      model.dispose();
    }
  });
}

test('setAblations checks the model shape and keeps the previous list on a bad entry', async () => {
  const model = await loadModel(fs.readFileSync(path.join(fixtures, 'lm_learned_h1.weights.json')));
  try {
    model.setAblations([{ kind: 'encoderSelf', layer: 1, head: 0, mode: 'zero' }]);
    assert.throws(() => model.setAblations([{ kind: 'cross', layer: 0, head: 0, mode: 'zero' }]), RangeError);
    assert.throws(() => model.setAblations([{ kind: 'encoderSelf', layer: 9, head: 0, mode: 'zero' }]), /layer 9 is out of range/);
    assert.throws(() => model.setAblations([{ kind: 'encoderSelf', layer: 0, head: 0, mode: 'half' }]), /mode/);
    assert.deepEqual(model.ablations(), [{ kind: 'encoderSelf', layer: 1, head: 0, mode: 'zero' }]);
    const ablated = model.run('abcab', { continuation: 3 });
    const ablatedOutput = ablated.output;
    model.setAblations([]);
    const plain = model.run('abcab', { continuation: 3 });
    assert.notEqual(plain.output, ablatedOutput);
    assert.equal(plain.scores, null);
    assert.equal(plain.valueNorms, null);
    const probed = model.run('abcab', { scores: true, valueNorms: true });
    assert.equal(probed.valueNorms.encoderSelf.rows, 1);
    assert.equal(probed.scores.encoderSelf.rows, probed.encoderSelf.rows);
    assert.equal(probed.scores.decoderSelf, null);
  } finally {
    model.dispose();
  }
});
