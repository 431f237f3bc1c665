// The host side of the iframe postMessage API (web/js/embed-api.js): say hello, set text /
// model / view, and show each state the embed sends back.
const frame = document.getElementById('attnviz');
const origin = new URL(frame.src, location.href).origin;
const send = (message) => frame.contentWindow.postMessage(message, origin);
window.received = [];  // every message from the embed, for the browser tests

window.addEventListener('message', (event) => {
  if (event.source !== frame.contentWindow || event.origin !== origin) return;
  const data = event.data;
  window.received.push(data);
  if (data.type === 'attnviz:ready') send({ type: 'attnviz:hello' });
  if (data.type === 'attnviz:state') {
    document.getElementById('host-summary').textContent =
      `${data.model}: “${data.text}” → “${data.output}”, ${data.kind} layer ${data.layer} head ${data.head}, ${data.rows}×${data.cols}`;
    document.getElementById('host-log').textContent = JSON.stringify({ ...data, attention: data.attention.map((r) => r.map((v) => +v.toFixed(3))) });
  }
  if (data.type === 'attnviz:error') document.getElementById('host-summary').textContent = `error: ${data.message}`;
});

document.getElementById('host-send').addEventListener('click', () => send({ type: 'attnviz:set', text: document.getElementById('host-text').value }));
document.getElementById('host-cross').addEventListener('click', () => send({ type: 'attnviz:set', kind: 'cross', layer: 2, head: 'avg' }));
document.getElementById('host-lm').addEventListener('click', () => send({ type: 'attnviz:set', model: 'induction-lm', text: 'the quick brown fox jumps the quick brown' }));
// The embed's listener is installed before its load event, so a hello then is never lost.
frame.addEventListener('load', () => send({ type: 'attnviz:hello' }));
