// The selectors: attention kind, layer, head (with the head average), colour map, scale and
// the check boxes. Options are rebuilt only when the model's shape changes.

import { COLORMAPS } from './colormaps.js';
import { HEAD_AVERAGE, KINDS } from './state.js';

function fill(select, options, value) {
  const signature = options.map((o) => `${o.value}=${o.label}`).join('|');
  if (select.dataset.signature !== signature) {
    select.replaceChildren(...options.map((o) => new Option(o.label, String(o.value))));
    select.dataset.signature = signature;
  }
  if (select.value !== String(value)) select.value = String(value);
}

/** Sets a property (value, checked, hidden, disabled) only when it changes: this runs on every keystroke. */
function put(element, property, value) {
  if (element[property] !== value) element[property] = value;
}

/** Kinds the model has, in display order, with labels fitting its architecture. */
export function kindsOf(info) {
  if (info.config.architecture === 'seq2seq') return ['encoderSelf', 'decoderSelf', 'cross'];
  return ['encoderSelf'];
}

export function kindLabel(kind, info) {
  if (info.config.architecture !== 'seq2seq') return 'self-attention (causal)';
  return KINDS[kind].label;
}

/** Layers of a kind: the encoder's for encoder self-attention, the decoder's otherwise. */
export function layersOf(kind, info) {
  return kind === 'encoderSelf' ? info.config.num_encoder_layers : info.config.num_decoder_layers;
}

export class ControlsView {
  constructor(elements, handlers) {
    this.el = elements;
    const { kind, layer, head, colormap, scale, log, padding, grid } = elements;
    kind.addEventListener('change', () => handlers.onChange({ kind: kind.value }));
    layer.addEventListener('change', () => handlers.onChange({ layer: Number(layer.value) }));
    head.addEventListener('change', () => handlers.onChange({ head: Number(head.value) }));
    colormap.addEventListener('change', () => handlers.onChange({ colormap: colormap.value }));
    scale.addEventListener('change', () => handlers.onChange({ scale: scale.value }));
    log.addEventListener('change', () => handlers.onChange({ log: log.checked }));
    padding.addEventListener('change', () => handlers.onChange({ showPadding: padding.checked }));
    grid.addEventListener('change', () => handlers.onChange({ showGrid: grid.checked }));
    fill(colormap, Object.entries(COLORMAPS).map(([value, c]) => ({ value, label: c.label })), 'viridis');
  }

  /** Shows state; info: the current model's info(). */
  update(state, info) {
    const el = this.el;
    const kinds = kindsOf(info);
    fill(el.kind, kinds.map((k) => ({ value: k, label: kindLabel(k, info) })), state.kind);
    put(el.kind, 'disabled', kinds.length < 2);
    const layers = layersOf(state.kind, info);
    fill(el.layer, Array.from({ length: layers }, (_, i) => ({ value: i, label: `${i + 1} of ${layers}` })), state.layer);
    const heads = info.config.nhead;
    const headOptions = Array.from({ length: heads }, (_, i) => ({ value: i, label: `${i + 1} of ${heads}` }));
    if (heads > 1) headOptions.push({ value: HEAD_AVERAGE, label: 'average' });
    fill(el.head, headOptions, state.head);
    put(el.colormap, 'value', state.colormap);
    put(el.scale, 'value', state.scale);
    put(el.log, 'checked', state.log);
    put(el.padding, 'checked', state.showPadding);
    put(el.paddingControl, 'hidden', !info.tokenizer.pad_src);
    put(el.grid, 'checked', state.showGrid);
  }
}
