// The shipped models (weights/manifest.json) and loading weights from the site or a user's file.
//
// Manifest format: a JSON array with one object per model, in picker order:
//   {
//     "id": "pig-latin",                  // required, stable and URL-safe: the page's ?model= value
//     "title": "Pig Latin (seq2seq)",      // required, shown in the picker and on the model card
//     "file": "pig_latin.weights.json",    // required, path relative to weights/ (docs/weights-format.md)
//     "default": true,                     // optional, the model opened without ?model= (else the first)
//     "example_text": "hello",             // optional, typed in when the model is opened; must be
//                                          //   valid input for its tokenizer and fit in max_len
//     "description": "One or two sentences for the model card."  // optional
//   }
// Anything in the model's own "metadata" is shown on the model card as well.

const MANIFEST_URL = new URL('../weights/manifest.json', import.meta.url);

/** Fetches and checks the manifest; rejects with an Error naming the problem. */
export async function loadManifest() {
  const response = await fetch(MANIFEST_URL);
  if (!response.ok) throw new Error(`weights/manifest.json could not be fetched (HTTP ${response.status})`);
  let entries;
  try {
    entries = await response.json();
  } catch (error) {
    throw new Error(`weights/manifest.json is not valid JSON: ${error.message}`);
  }
  if (!Array.isArray(entries)) throw new Error('weights/manifest.json must be a JSON array of models');
  const seen = new Set();
  return entries.map((entry, i) => {
    for (const key of ['id', 'title', 'file']) {
      if (typeof entry?.[key] !== 'string' || !entry[key]) {
        throw new Error(`weights/manifest.json entry ${i} needs a string "${key}"`);
      }
    }
    if (seen.has(entry.id)) throw new Error(`weights/manifest.json has the id "${entry.id}" twice`);
    seen.add(entry.id);
    return { ...entry, default: entry.default === true, example_text: entry.example_text ?? '' };
  });
}

/** The entry for id, else the one marked default, else the first. */
export function pickEntry(entries, id) {
  return entries.find((e) => e.id === id) || entries.find((e) => e.default) || entries[0] || null;
}

/** The weights file of a manifest entry, as an ArrayBuffer. */
export async function fetchWeights(entry) {
  const response = await fetch(new URL(`../weights/${entry.file}`, import.meta.url));
  if (!response.ok) throw new Error(`weights/${entry.file} could not be fetched (HTTP ${response.status})`);
  return response.arrayBuffer();
}

/** A user's file, refused early when it cannot be a weights file of the allowed size. */
export async function readUserFile(file) {
  if (file.size === 0) throw new Error('the file is empty');
  if (file.size > 400 * 1024 * 1024) throw new Error(`the file is ${Math.round(file.size / 1048576)} MB; weights files are at most about 350 MB`);
  return file.arrayBuffer();
}

/** A short input the model's tokenizer accepts, for a file that comes without example text. */
export function sampleText(info) {
  const tokenizer = info.tokenizer;
  const vocab = tokenizer.src_vocab.filter((t) => !/^<.*>$/.test(t) && t.trim() !== '');
  const room = Math.max(1, Math.min(8, info.config.max_len - 2));
  if (tokenizer.level === 'word') return vocab.slice(0, Math.min(3, room)).join(' ');
  return vocab.slice(0, room).join('');
}
