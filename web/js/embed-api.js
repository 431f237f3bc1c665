// The postMessage API of the page inside an <iframe> (web/README.md, "Embedding"): the host page
// sets the text, the model and the view, and receives the current attention and output.
//
// Host -> page (event.source must be the embedding window; anything else is ignored):
//   { type: 'attnviz:hello' }                                   subscribe; answered with a state
//   { type: 'attnviz:set', text?, model?, kind?, layer?, head? } change what is shown (and subscribe)
//        model: a manifest id; kind: 'enc' | 'dec' | 'cross' (or encoderSelf / decoderSelf / cross);
//        layer, head: 1-based as in the URL, head 'avg' for the head average
//   { type: 'attnviz:get' }                                     answered with a state
// Page -> host:
//   { type: 'attnviz:ready' }                     once the first heatmap is drawn (carries no data)
//   { type: 'attnviz:state', model, text, output, kind, layer, head, rowTokens, colTokens,
//     rows, cols, attention: number[rows][cols] (what the heatmap shows), srcTokens, tgtTokens,
//     ablations }                                 after every draw that changed it, to subscribers
//   { type: 'attnviz:error', message }            a 'set' that could not be applied
// States go only to the origin of the window that subscribed (never '*'), so a page that embeds
// attnviz gets its data and nobody else does.

import { KINDS } from './state.js';

const KIND_NAMES = { enc: 'encoderSelf', dec: 'decoderSelf', cross: 'cross', encoderSelf: 'encoderSelf', decoderSelf: 'decoderSelf',
  encoder_self: 'encoderSelf', decoder_self: 'decoderSelf' };

/** The message for what the page shows: current() = { view, state, result, modelId, text, ablations }. */
function stateMessage({ view, state, result, modelId, text, ablations }) {
  if (!view || !result) return null;
  const attention = [];
  let checksum = 0;
  for (let r = 0; r < view.rows; r++) {
    const row = Array.from(view.matrix.subarray(r * view.cols, (r + 1) * view.cols));
    for (const v of row) checksum = (checksum * 31 + Math.round(v * 1e6)) | 0;
    attention.push(row);
  }
  return {
    model: modelId, text, output: result.output, kind: KINDS[state.kind].url, layer: state.layer + 1,
    head: state.head < 0 ? 'avg' : state.head + 1, rows: view.rows, cols: view.cols,
    rowTokens: view.rowTokens, colTokens: view.colTokens, attention,
    srcTokens: result.srcTokens, tgtTokens: result.tgtTokens ?? null, ablations, checksum,
  };
}

/** The page's side: hooks { current(), setText(text), setModel(id, text?) (async), setView(patch) }. */
export function installEmbedApi(hooks) {
  const host = window.parent !== window ? window.parent : null;
  let subscriber = null;   // origin of the host that asked for states
  let lastKey = '';
  let ready = false;

  function post(message, origin) {
    try {
      host.postMessage(message, origin);
    } catch {
      // An origin the browser rejects (e.g. 'null' from file://): nothing to send to.
    }
  }

  function sendState(force) {
    if (!host || !subscriber) return;
    const snapshot = stateMessage(hooks.current());
    if (!snapshot) return;
    const key = JSON.stringify([snapshot.model, snapshot.text, snapshot.kind, snapshot.layer, snapshot.head, snapshot.output, snapshot.checksum, snapshot.ablations]);
    if (!force && key === lastKey) return;
    lastKey = key;
    delete snapshot.checksum;
    post({ type: 'attnviz:state', ...snapshot }, subscriber);
  }

  if (host) {
    window.addEventListener('message', async (event) => {
      if (event.source !== host || !event.data || typeof event.data.type !== 'string') return;
      const data = event.data;
      const origin = event.origin === 'null' ? '*' : event.origin;
      if (data.type === 'attnviz:hello' || data.type === 'attnviz:get') {
        subscriber = origin;
        sendState(true);
        return;
      }
      if (data.type !== 'attnviz:set') return;
      subscriber = origin;
      try {
        if (typeof data.model === 'string') await hooks.setModel(data.model, typeof data.text === 'string' ? data.text : undefined);
        else if (typeof data.text === 'string') hooks.setText(data.text);
        const patch = {};
        if (data.kind !== undefined) {
          const kind = KIND_NAMES[data.kind];
          if (!kind || !KINDS[kind]) throw new Error(`unknown kind "${data.kind}"`);
          patch.kind = kind;
        }
        if (data.layer !== undefined) {
          if (!Number.isInteger(data.layer) || data.layer < 1) throw new Error('layer is 1-based');
          patch.layer = data.layer - 1;
        }
        if (data.head !== undefined) {
          if (data.head === 'avg') patch.head = -1;
          else if (Number.isInteger(data.head) && data.head >= 1) patch.head = data.head - 1;
          else throw new Error('head is 1-based, or "avg"');
        }
        if (Object.keys(patch).length) hooks.setView(patch);
      } catch (error) {
        post({ type: 'attnviz:error', message: error.message }, origin);
      }
    });
  }

  return {
    /** Called after each draw of the page. */
    afterDraw() {
      if (!host) return;
      if (!ready) {
        ready = true;
        host.postMessage({ type: 'attnviz:ready' }, '*');
      }
      sendState(false);
    },
  };
}
