// Shared by the JS drivers (Node and the Chromium page): adaptive repetition counts and the
// inputs every engine runs. Plain ES module, no Node or DOM APIs.

/** The benchmark vocabulary (bench/make_models.py): <pad> <bos> <eos> a..z '. */
export const VOCAB = ['<pad>', '<bos>', '<eos>', ...'abcdefghijklmnopqrstuvwxyz', "'"];
export const BOS = 1;
export const EOS = 2;
export const DECODE_STEPS = 12;

/** A text of n source tokens (n - 1 letters + <eos>), for the scale rows. */
export function scaleText(n) {
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  let text = '';
  for (let i = 0; i < n - 1; i++) text += letters[(i * 7) % 26];
  return text;
}

/**
 * Times fn: warm-up calls, then as many repetitions as fit in budgetMs (at least minReps,
 * at most maxReps). Returns { ms: [median, min, max], reps }.
 */
export function timeRuns(fn, { budgetMs = 1000, minReps = 7, maxReps = 300, now = () => performance.now() } = {}) {
  // Warm-up (and time for the wasm tier-up): at least 3 calls and 250 ms, or a single call
  // when one takes over 100 ms; the fastest after the first sizes the count.
  let last = 0;
  let fastest = Infinity;
  for (let i = 0, total = 0; i === 0 || (last < 100 && (i < 3 || total < 250)); i++) {
    const start = now();
    fn();
    last = now() - start;
    total += last;
    if (i > 0 || last >= 100) fastest = Math.min(fastest, last);
  }
  const reps = Math.max(minReps, Math.min(maxReps, Math.floor(budgetMs / Math.max(fastest, 1e-3))));
  const ms = [];
  for (let i = 0; i < reps; i++) {
    const start = now();
    fn();
    ms.push(now() - start);
  }
  return summarize(ms);
}

/** The same for an async fn (onnxruntime-web's run() is async). */
export async function timeRunsAsync(fn, { budgetMs = 1000, minReps = 7, maxReps = 300, now = () => performance.now() } = {}) {
  // Warm-up (and time for the wasm tier-up): at least 3 calls and 250 ms, or a single call
  // when one takes over 100 ms; the fastest after the first sizes the count.
  let last = 0;
  let fastest = Infinity;
  for (let i = 0, total = 0; i === 0 || (last < 100 && (i < 3 || total < 250)); i++) {
    const start = now();
    await fn();
    last = now() - start;
    total += last;
    if (i > 0 || last >= 100) fastest = Math.min(fastest, last);
  }
  const reps = Math.max(minReps, Math.min(maxReps, Math.floor(budgetMs / Math.max(fastest, 1e-3))));
  const ms = [];
  for (let i = 0; i < reps; i++) {
    const start = now();
    await fn();
    ms.push(now() - start);
  }
  return summarize(ms);
}

function summarize(ms) {
  ms.sort((a, b) => a - b);
  return { ms: [ms[ms.length >> 1], ms[0], ms[ms.length - 1]], reps: ms.length };
}

/** Char-level source ids as the engine's tokenizer makes them: ids + <eos>, no <bos>. */
export function sourceIds(text) {
  const ids = [];
  for (const ch of text) {
    const id = VOCAB.indexOf(ch);
    if (id < 0) throw new Error(`unknown character ${JSON.stringify(ch)}`);
    ids.push(id);
  }
  ids.push(EOS);
  return ids;
}

export function tokensText(ids) {
  return ids.filter((id) => id > EOS).map((id) => VOCAB[id]).join('');
}
