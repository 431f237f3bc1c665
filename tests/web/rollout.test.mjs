// The page's client-side attention math (web/js/rollout.js, web/js/head-math.js) against the
// NumPy reference tests/fixtures/rollout_reference.json (tools/make_rollout_reference.py), on
// attention, scores and value norms that PyTorch produced for the parity fixtures.
// Plain Node, no browser and no wasm:  node --test tests/web/
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { rolloutSelf, rolloutSeq2seq, residualLayer } from '../../web/js/rollout.js';
import { headBlock, softmaxRows, valueWeighted } from '../../web/js/head-math.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '../fixtures');
const reference = JSON.parse(fs.readFileSync(path.join(fixtures, 'rollout_reference.json'), 'utf8'));
const TOLERANCE = 1e-5;

/** A fixture tensor { shape, data } as the view shape the page gets from wasm/attnviz.js. */
function view(entry) {
  const [layers, heads, rows, cols] = entry.shape;
  return { layers, heads, rows, cols, data: Float32Array.from(entry.data, (v) => (v === null ? -Infinity : v)) };
}

function assertClose(actual, expected, label) {
  assert.equal(actual.length, expected.length, `${label}: length`);
  let worst = 0;
  for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
  assert.ok(worst <= TOLERANCE, `${label}: max abs diff ${worst}`);
}

const caseOf = (entry) => JSON.parse(fs.readFileSync(path.join(fixtures, entry.fixture), 'utf8')).cases[entry.case];

test('the reference covers a causal LM and seq2seq models', () => {
  assert.ok(reference.entries.length >= 3);
  assert.ok(reference.entries.some((e) => e.rollout.source));
  assert.ok(reference.entries.some((e) => !e.rollout.source));
});

for (const entry of reference.entries) {
  const label = `${entry.fixture} case ${entry.case} (“${entry.text}”)`;
  const c = caseOf(entry);
  const attention = Object.fromEntries(Object.entries(c.attention).map(([k, v]) => [k, view(v)]));

  test(`rollout equals NumPy on ${label}`, () => {
    const enc = attention.encoder_self;
    assertClose(rolloutSelf(enc), entry.rollout.encoder_self, 'encoder/LM rollout');
    assertClose(residualLayer(enc, 0), entry.rollout.encoder_self_upto_0, 'first residual layer');
    assertClose(rolloutSelf(enc, 0), entry.rollout.encoder_self_upto_0, 'rollout up to layer 0');
    const r = rolloutSelf(enc);
    for (let i = 0; i < enc.rows; i++) {
      let sum = 0;
      for (let j = 0; j < enc.cols; j++) sum += r[i * enc.cols + j];
      assert.ok(Math.abs(sum - 1) < 1e-5, `row ${i} sums to ${sum}`);
    }
    if (entry.rollout.source) {
      const s2s = rolloutSeq2seq({ encoderSelf: enc, decoderSelf: attention.decoder_self, cross: attention.cross });
      assertClose(s2s.encoder, entry.rollout.encoder_self, 'seq2seq encoder');
      assertClose(s2s.decoder, entry.rollout.decoder_self, 'decoder self rollout');
      assertClose(s2s.source, entry.rollout.source, 'output -> source');
    }
  });

  if (entry.softmax) {
    test(`softmax of the scores at each temperature equals NumPy on ${label}`, () => {
      for (const [kind, ref] of Object.entries(entry.softmax)) {
        const scores = view(c.scores[kind]);
        const block = headBlock(scores, ref.layer, ref.head);
        for (const [t, expected] of Object.entries(ref.by_temperature)) {
          assertClose(softmaxRows(block, scores.rows, scores.cols, Number(t)), expected, `${kind} T=${t}`);
        }
        // At temperature 1 the softmax of the engine's scores is the model's own attention
        // (unless the head was ablated, which replaces its pattern after the softmax).
        const ablated = (c.ablations || []).some((a) => a.kind === kind && a.layer === ref.layer && a.head === ref.head);
        if (!ablated) {
          assertClose(softmaxRows(block, scores.rows, scores.cols, 1), headBlock(attention[kind], ref.layer, ref.head), `${kind} T=1 is the attention`);
        }
      }
    });
  }

  if (entry.value_weighted) {
    test(`value-weighted attention equals NumPy on ${label}`, () => {
      for (const [kind, ref] of Object.entries(entry.value_weighted)) {
        const norms = view(c.value_norms[kind]);
        assertClose(valueWeighted(attention[kind], norms, ref.layer, 0), ref.head_0, `${kind} head 1`);
        assertClose(valueWeighted(attention[kind], norms, ref.layer, -1), ref.head_mean, `${kind} head mean`);
      }
    });
  }
}
