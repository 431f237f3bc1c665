// Export of the current view: the heatmap canvas as PNG, the shown matrix as CSV, and the
// shown matrix plus the whole attention kind it came from as JSON.

import { pictureOf } from './draw.js';

function download(blob, name) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

function csvField(text) {
  return /[",\n\r]/.test(text) || /^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function baseName(snapshot) {
  const head = snapshot.head === null ? 'avg' : `h${snapshot.head + 1}`;
  return `attnviz-${snapshot.model || 'model'}-${snapshot.kind}-l${snapshot.layer + 1}-${head}`.replace(/[^\w.-]+/g, '_');
}

export function exportPng(canvas, snapshot) {
  pictureOf(canvas).toBlob((blob) => blob && download(blob, `${baseName(snapshot)}.png`), 'image/png');
}

/** CSV: first row the key tokens, then one row per query token with its weights. */
export function toCsv(snapshot) {
  const { rowTokens, colTokens, matrix, cols } = snapshot;
  const lines = [['query \\ key', ...colTokens].map(csvField).join(',')];
  for (let r = 0; r < rowTokens.length; r++) {
    const values = Array.from(matrix.subarray(r * cols, (r + 1) * cols), (v) => String(v));
    lines.push([csvField(rowTokens[r]), ...values].join(','));
  }
  return `${lines.join('\n')}\n`;
}

export function exportCsv(snapshot) {
  download(new Blob([toCsv(snapshot)], { type: 'text/csv' }), `${baseName(snapshot)}.csv`);
}

export function toJson(snapshot) {
  const { rows, cols, matrix, attention } = snapshot;
  const nested = [];
  for (let r = 0; r < rows; r++) nested.push(Array.from(matrix.subarray(r * cols, (r + 1) * cols)));
  return JSON.stringify({
    model: snapshot.model,
    text: snapshot.text,
    kind: snapshot.kind,
    layer: snapshot.layer,
    head: snapshot.head,               // null: average over the heads
    row_tokens: snapshot.rowTokens,    // queries
    col_tokens: snapshot.colTokens,    // keys
    matrix: nested,                    // [rows][cols], as shown
    all_heads: {                       // every layer and head of this kind, all positions
      layers: attention.layers, heads: attention.heads, rows: attention.rows, cols: attention.cols,
      // The layers recorded: all of them, unless the text was long enough for the capture
      // limit to keep only the one shown.
      first_layer: attention.firstLayer ?? 0, recorded_layers: attention.recordedLayers ?? attention.layers,
      row_tokens: snapshot.allRowTokens, col_tokens: snapshot.allColTokens,
      data: Array.from(attention.data), // flat [recorded_layers][heads][rows][cols]
    },
  });
}

export function exportJson(snapshot) {
  download(new Blob([toJson(snapshot)], { type: 'application/json' }), `${baseName(snapshot)}.json`);
}
