// A tiny static file server for the built site, sending the strict Content-Security-Policy the
// page must work under (the policy course platforms use for embeds). Used by the browser
// tests and the keystroke benchmark; not a test itself.
import { createServer } from 'node:http';
import { readFile, stat } from 'node:fs/promises';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'";

export const SITE = resolve(fileURLToPath(new URL('../../build/wasm/web/', import.meta.url)));
const FIXTURES = resolve(fileURLToPath(new URL('../fixtures/', import.meta.url)));

// Two small random-weight models from tests/fixtures, which many browser tests are written
// against (a padded seq2seq and a causal LM, quick to load). This server adds them to the
// manifest it hands out, first and as the default; the shipped manifest lists only the
// trained models, and they stay in it after these.
export const TEST_MODELS = [
  { id: 's2s-seed-small', title: 'Seq2seq fixture (random weights, char-level a-z)',
    file: 's2s_seed_small.weights.json', default: true, example_text: 'hello',
    description: 'Untrained encoder-decoder in the Pig Latin layout, sources padded to 12.' },
  { id: 'lm-learned-h1', title: 'Causal LM fixture (random weights, chars a-h and space)',
    file: 'lm_learned_h1.weights.json', example_text: 'a bad cafe',
    description: 'Untrained decoder-only model: 3 layers, 1 head, learned positions.' },
];

async function testManifest(root) {
  const shipped = JSON.parse(await readFile(join(root, 'weights', 'manifest.json'), 'utf8'));
  return JSON.stringify([...TEST_MODELS, ...shipped.map(({ default: _, ...entry }) => entry)]);
}

function testModelFile(path) {
  const entry = TEST_MODELS.find((m) => path === `/weights/${m.file}`);
  return entry ? join(FIXTURES, entry.file) : null;
}

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.md': 'text/markdown; charset=utf-8',
};

/**
 * Serves root on 127.0.0.1 at a free port; resolves to { url, requests, received, close() }:
 * requests lists the paths asked for, received every request as { method, url, body } (the
 * body bytes as a Buffer, so a test can check that nothing was uploaded).
 */
export async function serve(root = SITE) {
  const requests = [];
  const received = [];
  const server = createServer(async (req, res) => {
    const path = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    requests.push(path);
    const record = { method: req.method, url: req.url, body: Buffer.alloc(0) };
    received.push(record);
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => { record.body = Buffer.concat(chunks); });
    let file = normalize(join(root, path));
    if (!file.startsWith(root)) {
      res.writeHead(403).end();
      return;
    }
    try {
      let body;
      if (path === '/weights/manifest.json') {
        body = await testManifest(root);
      } else {
        file = testModelFile(path) || file;
        if ((await stat(file)).isDirectory()) file = join(file, 'index.html');
        body = await readFile(file);
      }
      res.writeHead(200, {
        'Content-Type': TYPES[extname(file)] || 'application/octet-stream',
        'Content-Security-Policy': CSP,
        'Cache-Control': 'no-store',
      });
      res.end(body);
    } catch {
      res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Security-Policy': CSP }).end('not found');
    }
  });
  await new Promise((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}/`, requests, received, close: () => new Promise((done) => server.close(done)) };
}

// `node tests/e2e/server.mjs` serves the site by hand, with the same headers.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { url } = await serve();
  console.log(`serving ${SITE} at ${url}`);
}
