// The page's one state object and its round trip through the URL query string.
//
// URL keys (all optional): model=<manifest id>, text=<input>, kind=enc|dec|cross,
// layer=<1-based>, head=<1-based>|avg, cmap=<colour map>, scale=global|row, log=1,
// pad=0 (hide padding), grid=0 (hide the all-heads grid), step=<decode step, 1-based>,
// embed=1 (minimal chrome for iframes).

import { COLORMAPS, DEFAULT_COLORMAP } from './colormaps.js';

export const KINDS = {
  encoderSelf: { url: 'enc', label: 'encoder self-attention', short: 'encoder self' },
  decoderSelf: { url: 'dec', label: 'decoder self-attention', short: 'decoder self' },
  cross: { url: 'cross', label: 'cross-attention (decoder → encoder)', short: 'cross' },
};

/** Head index meaning "average over the heads". */
export const HEAD_AVERAGE = -1;

export function createState() {
  return {
    modelId: null,       // manifest id, or null for a file the user loaded
    text: '',
    kind: 'encoderSelf', // a key of KINDS
    layer: 0,
    head: 0,             // 0-based, or HEAD_AVERAGE
    colormap: DEFAULT_COLORMAP,
    scale: 'global',     // 'global' | 'row'
    log: false,
    showPadding: true,
    showGrid: true,
    step: 0,             // decode step (row of the decoder's attention) for the scrubber
    embed: false,
    highlight: null,     // { row, col } in displayed coordinates, either may be null
    focus: { row: 0, col: 0 },
  };
}

function kindFromUrl(value) {
  for (const [name, kind] of Object.entries(KINDS)) if (kind.url === value) return name;
  return null;
}

function positiveInt(value) {
  const n = Number.parseInt(value, 10);
  return Number.isFinite(n) && n >= 1 ? n : null;
}

/** Reads URL parameters into state; unknown or malformed values are ignored. */
export function readUrl(state, search) {
  const p = new URLSearchParams(search);
  if (p.has('model')) state.modelId = p.get('model');
  if (p.has('text')) state.text = p.get('text');
  const kind = kindFromUrl(p.get('kind'));
  if (kind) state.kind = kind;
  const layer = positiveInt(p.get('layer'));
  if (layer) state.layer = layer - 1;
  if (p.get('head') === 'avg') state.head = HEAD_AVERAGE;
  else if (positiveInt(p.get('head'))) state.head = positiveInt(p.get('head')) - 1;
  if (COLORMAPS[p.get('cmap')]) state.colormap = p.get('cmap');
  if (p.get('scale') === 'row' || p.get('scale') === 'global') state.scale = p.get('scale');
  if (p.has('log')) state.log = p.get('log') === '1';
  if (p.has('pad')) state.showPadding = p.get('pad') !== '0';
  if (p.has('grid')) state.showGrid = p.get('grid') !== '0';
  const step = positiveInt(p.get('step'));
  if (step) state.step = step - 1;
  state.embed = p.get('embed') === '1';
  return { hasText: p.has('text'), hasModel: p.has('model') };
}

/** The query string for the state (defaults left out so links stay short). */
export function toQuery(state, { embed = state.embed } = {}) {
  const p = new URLSearchParams();
  if (state.modelId) p.set('model', state.modelId);
  p.set('text', state.text);
  p.set('kind', KINDS[state.kind].url);
  p.set('layer', String(state.layer + 1));
  p.set('head', state.head === HEAD_AVERAGE ? 'avg' : String(state.head + 1));
  if (state.colormap !== DEFAULT_COLORMAP) p.set('cmap', state.colormap);
  if (state.scale !== 'global') p.set('scale', state.scale);
  if (state.log) p.set('log', '1');
  if (!state.showPadding) p.set('pad', '0');
  if (!state.showGrid) p.set('grid', '0');
  if (state.step > 0) p.set('step', String(state.step + 1));
  if (embed) p.set('embed', '1');
  return `?${p.toString()}`;
}
