// The model card beside the heatmaps: what model this is, from model.info() and the manifest.

// A metadata value as a reader would write it: lists joined by commas, nested objects as
// "key: value; key: value", underscores in keys as spaces.
function describe(value) {
  if (Array.isArray(value)) {
    const scalar = value.every((v) => v === null || typeof v !== 'object');
    return value.map(describe).join(scalar ? ', ' : '; ');
  }
  if (value && typeof value === 'object') {
    return Object.entries(value).map(([k, v]) => `${k.replace(/_/g, ' ')}: ${describe(v)}`).join('; ');
  }
  return String(value);
}

function addRow(list, term, value) {
  if (value === undefined || value === null || value === '') return;
  const dt = document.createElement('dt');
  dt.textContent = term;
  const dd = document.createElement('dd');
  dd.textContent = describe(value);
  list.append(dt, dd);
}

/** entry: manifest entry or { title, description } for a user's file; info: model.info(). */
export function renderModelCard(container, entry, info) {
  const { config, tokenizer, metadata = {}, parameters } = info;
  container.replaceChildren();
  const title = document.createElement('h3');
  title.className = 'card-title';
  title.textContent = entry.title || entry.id || 'model';
  container.appendChild(title);
  if (entry.description) {
    const p = document.createElement('p');
    p.className = 'card-description';
    p.textContent = entry.description;
    container.appendChild(p);
  }
  const list = document.createElement('dl');
  const seq2seq = config.architecture === 'seq2seq';
  addRow(list, 'architecture', seq2seq ? 'seq2seq (encoder-decoder)' : 'causal LM (decoder-only)');
  addRow(list, 'layers', seq2seq ? `${config.num_encoder_layers} encoder + ${config.num_decoder_layers} decoder` : config.num_encoder_layers);
  addRow(list, 'heads', config.nhead);
  addRow(list, 'd_model, d_ff', `${config.d_model} / ${config.dim_feedforward}`);
  addRow(list, 'parameters', Number(parameters).toLocaleString('en-US'));
  addRow(list, 'activation, norm', `${config.activation}, ${config.norm_first ? 'pre-LN' : 'post-LN'}`);
  addRow(list, 'positions', `${config.positional}, max ${config.max_len}`);
  const vocab = seq2seq ? `${tokenizer.src_vocab.length} source / ${tokenizer.tgt_vocab.length} target` : `${tokenizer.src_vocab.length}`;
  addRow(list, 'tokens', `${tokenizer.level}-level, vocabulary ${vocab}${tokenizer.lowercase ? ', lower-cased' : ''}`);
  if (tokenizer.pad_src) addRow(list, 'padding', `source padded to ${config.max_len}${tokenizer.src_key_padding_mask ? ', pad keys masked' : ', pad keys not masked'}`);
  for (const [key, value] of Object.entries(metadata)) addRow(list, key.replace(/_/g, ' '), value);
  container.appendChild(list);
  container.dataset.architecture = config.architecture;
}
