// Hostile text through the WebAssembly build under Node (the native side, under ASan, is
// tests/hostile_text_test.cpp): a 10,000-character paste, emoji, CJK, combining marks,
// right-to-left text, only spaces, empty text, control characters and lone surrogates, on
// char- and word-level models with and without <unk>. Each is run (truncated with a notice,
// <unk> mapping) or refused with a short clear message; the engine keeps working; repeating
// every input does not grow wasm memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const site = path.join(root, 'build/wasm/web');
const { initEngine, loadModel } = await import(path.join(site, 'attnviz.js'));
const mod = await initEngine({ wasmBinary: fs.readFileSync(path.join(site, 'attnviz_core.wasm')) });

const MODELS = [
  ['s2s_seed_small', { word: false, unk: false }],
  ['s2s_words_preln_gelu_h4', { word: true, unk: true }],
  ['lm_learned_h1', { word: false, unk: true }],
  ['lm_table_preln_gelu_h8', { word: true, unk: false }],
];

const HOSTILE = {
  empty: '',
  'only spaces': ' '.repeat(200),
  'whitespace mix': ' \t\n\r\f\v ',
  emoji: '\u{1F600}\u{1F389} \u{1F468}\u200D\u{1F469}',
  CJK: '漢字 テスト',
  'combining marks': 'e\u0301 a\u030A\u0301 n\u0303',
  'right-to-left': 'שלום عربي \u200F',
  'control characters': 'a\u0001\u0002\u001b[31m\u007f\u0000b',
  'lone surrogates': 'a\uD800b\uDFFF',   // TextEncoder makes each U+FFFD
  '10,000 characters of prose': 'the cat sat on the mat, one two three. '.repeat(300).slice(0, 10000),
  '10,000 emoji': '\u{1F600}'.repeat(10000),
};

const KNOWN = /^(the text has no tokens|the text is not valid UTF-8|the (source|target) vocabulary has no )/;

function check(model, text, options, info) {
  const start = performance.now();
  let result = null;
  try {
    result = model.run(text, options);
  } catch (error) {
    assert.ok(error instanceof Error && !(error instanceof WebAssembly.RuntimeError), `aborted: ${error}`);
    assert.match(error.message, KNOWN);
    assert.ok(error.message.length < 1000, `message of ${error.message.length} characters`);
    if (info.unk) assert.doesNotMatch(error.message, /vocabulary has no/, 'a model with <unk> maps unknown tokens');
  }
  assert.ok(performance.now() - start < 5000);
  if (result) {
    assert.ok(result.srcTokens.length <= info.maxLen);
    for (const notice of result.notices) assert.equal(typeof notice, 'string');
  }
  return result;
}

for (const [name, kind] of MODELS) {
  test(`hostile text on ${name}`, async () => {
    const model = await loadModel(fs.readFileSync(path.join(root, 'tests/fixtures', `${name}.weights.json`)));
    const info = { ...kind, maxLen: model.info().config.max_len };
    const vocab = model.info().tokenizer.src_vocab.filter((t) => !t.startsWith('<') && t !== ' ');
    const good = vocab[0];
    const first = model.run(good);
    const seq2seq = model.info().config.architecture === 'seq2seq';
    for (const [label, text] of Object.entries(HOSTILE)) {
      check(model, text, {}, info, label);
      if (seq2seq) check(model, good, { target: text }, info, label);
    }
    assert.throws(() => model.run(''), /^Error: the text has no tokens: type something$/);

    // A 10,000-character paste of the model's own tokens: cut to max_len with a notice.
    const paste = (good + (kind.word ? ' ' : '')).repeat(10000).slice(0, 10000);
    const long = model.run(paste, seq2seq ? { target: paste } : { continuation: 5 });
    assert.match(long.notices[0], /the rest was cut off/);
    if (seq2seq) assert.match(long.notices[1], /the target was cut/);

    // The engine still answers as before, and a second pass over every input does not grow memory.
    assert.deepEqual(Array.from(model.run(good).encoderSelf.data), Array.from(first.encoderSelf.data));
    const warm = mod.HEAPU8.buffer.byteLength;
    for (const text of Object.values(HOSTILE)) check(model, text, {}, info);
    model.run(paste, seq2seq ? { target: paste } : { continuation: 5 });
    assert.equal(mod.HEAPU8.buffer.byteLength, warm, 'wasm memory grew on repeated input');
    model.dispose();
  });
}
