#!/usr/bin/env python3
"""Builds the page as one offline HTML file: build/attnviz-single.html, with the wasm engine
(base64), every JS module, the CSS and one chosen model inlined. It opens from disk (file://)
with no server, for handing out to students.

  python3 tools/build_single_file.py [--site build/wasm/web] [--model piglatin] [--out build/attnviz-single.html]

It reads the built site (run the wasm build first). Two things file:// forbids are avoided:
  - fetch() of the .wasm, the manifest and the weights: the bundle defines its own `fetch`,
    shadowing the browser's for the bundled code, that answers from the inlined files, and it
    starts the engine with `wasmBinary` decoded from the inlined base64;
  - ES module imports of other files: a tiny bundler (below) puts every module reachable from
    js/main.js into one inline <script type="module">, each module a function scope returning
    its exports, in dependency order, with each `import { a, b as c } from './x.js'` turned into
    a destructuring of x's exports. It understands the forms this code base uses (one-line
    named and default imports; `export` before function / async function / class / const /
    let; `export default name;`) and fails loudly on anything else.
The page's Content-Security-Policy <meta> is dropped: a page on disk has no origin to protect,
and an inline script could not run under it.
"""
import argparse
import base64
import json
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

IMPORT = re.compile(r"^import\s+(?:(?P<default>[A-Za-z_$][\w$]*)|\{(?P<names>[^}]*)\})\s+from\s+'(?P<path>[^']+)';\s*$")
EXPORT_DECL = re.compile(r"^export\s+(?P<kind>async\s+function\*?|function\*?|class|const|let)\s+(?P<name>[A-Za-z_$][\w$]*)")
EXPORT_DEFAULT = re.compile(r"^export\s+default\s+(?P<name>[A-Za-z_$][\w$]*);\s*$")


class Bundler:
    def __init__(self, site):
        self.site = os.path.realpath(site)
        self.order = []      # module paths, dependencies first
        self.names = {}      # path -> JS identifier of its exports object
        self.code = {}       # path -> transformed code

    def ident(self, path):
        if path not in self.names:
            rel = os.path.relpath(path, self.site)
            self.names[path] = "__m_" + re.sub(r"[^A-Za-z0-9]", "_", rel)
        return self.names[path]

    def add(self, path, stack=()):
        path = os.path.realpath(path)
        if path in self.code:
            return
        if path in stack:
            raise SystemExit("import cycle: " + " -> ".join(stack + (path,)))
        self.code[path] = None
        out = []
        exports = []
        for number, line in enumerate(open(path, encoding="utf-8").read().split("\n"), 1):
            stripped = line.strip()
            if stripped.startswith("import ") or stripped.startswith("import{"):
                m = IMPORT.match(stripped)
                if not m:
                    raise SystemExit("%s:%d: an import form the bundler does not know: %s" % (path, number, stripped))
                dep = os.path.realpath(os.path.join(os.path.dirname(path), m.group("path")))
                self.add(dep, stack + (path,))
                if m.group("default"):
                    out.append("const %s = %s.default;" % (m.group("default"), self.ident(dep)))
                else:
                    parts = []
                    for item in m.group("names").split(","):
                        item = item.strip()
                        if not item:
                            continue
                        a = re.match(r"^([\w$]+)(?:\s+as\s+([\w$]+))?$", item)
                        if not a:
                            raise SystemExit("%s:%d: cannot read import %r" % (path, number, item))
                        parts.append(a.group(1) if not a.group(2) else "%s: %s" % (a.group(1), a.group(2)))
                    out.append("const { %s } = %s;" % (", ".join(parts), self.ident(dep)))
                continue
            if line.startswith("export "):
                d = EXPORT_DEFAULT.match(line)
                if d:
                    exports.append("default: %s" % d.group("name"))
                    continue
                m = EXPORT_DECL.match(line)
                if not m:
                    raise SystemExit("%s:%d: an export form the bundler does not know: %s" % (path, number, line))
                exports.append(m.group("name"))
                out.append(line[len("export "):])
                continue
            if re.search(r"\bimport\(", line):
                raise SystemExit("%s:%d: dynamic import() cannot be bundled" % (path, number))
            out.append(line)
        body = "\n".join(out)
        rel = os.path.relpath(path, self.site)
        self.code[path] = "// ---- %s\nconst %s = (() => {\n%s\nreturn { %s };\n})();\n" % (
            rel, self.ident(path), body, ", ".join(exports))
        self.order.append(path)


def script_safe(text):
    # Inside an inline <script>, "</script" would end it and "<!--" can change parsing.
    return re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE).replace("<!--", "<\\!--")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--site", default=os.path.join(ROOT, "build", "wasm", "web"))
    parser.add_argument("--model", default=None, help="manifest id (default: the manifest's default)")
    parser.add_argument("--out", default=os.path.join(ROOT, "build", "attnviz-single.html"))
    args = parser.parse_args()
    site = args.site
    for need in ("index.html", "attnviz_core.wasm", "js/main.js", "weights/manifest.json"):
        if not os.path.exists(os.path.join(site, need)):
            raise SystemExit("%s is missing: build the site first (cmake --build build/wasm)" % os.path.join(site, need))

    manifest = json.load(open(os.path.join(site, "weights", "manifest.json"), encoding="utf-8"))
    if args.model:
        entries = [e for e in manifest if e["id"] == args.model]
        if not entries:
            raise SystemExit("no model %r in the manifest (have: %s)" % (args.model, ", ".join(e["id"] for e in manifest)))
    else:
        entries = [next((e for e in manifest if e.get("default")), manifest[0])]
    entry = dict(entries[0], default=True)
    weights = open(os.path.join(site, "weights", entry["file"]), encoding="utf-8").read()
    files = {"weights/manifest.json": json.dumps([entry]), "weights/" + entry["file"]: weights}
    wasm = base64.b64encode(open(os.path.join(site, "attnviz_core.wasm"), "rb").read()).decode("ascii")

    bundler = Bundler(site)
    bundler.add(os.path.join(site, "js", "main.js"))
    wrapper = os.path.realpath(os.path.join(site, "attnviz.js"))
    if wrapper not in bundler.code:
        raise SystemExit("js/main.js does not import attnviz.js: nothing to start the engine with")

    prelude = """// attnviz, single-file build (tools/build_single_file.py): model %s.
// The bundled code's fetch: answers from the files inlined here (file:// allows no fetch).
const __inlined = %s;
const fetch = async (resource) => {
  const url = String(resource instanceof Request ? resource.url : resource);
  for (const [name, text] of Object.entries(__inlined)) {
    if (url.endsWith('/' + name)) return new Response(text, { status: 200, headers: { 'Content-Type': 'application/json' } });
  }
  throw new TypeError('the single-file build has no ' + url);
};
const __wasmBinary = Uint8Array.from(atob('%s'), (c) => c.charCodeAt(0));
""" % (entry["id"], json.dumps(files), wasm)
    parts = [prelude]
    for path in bundler.order:
        parts.append(bundler.code[path])
        if path == wrapper:
            parts.append("%s.initEngine({ wasmBinary: __wasmBinary });\n" % bundler.ident(path))
    bundle = script_safe("\n".join(parts))

    html = open(os.path.join(site, "index.html"), encoding="utf-8").read()
    html = re.sub(r'\s*<meta http-equiv="Content-Security-Policy"[^>]*>', "", html)

    def inline_css(m):
        css = open(os.path.join(site, m.group(1)), encoding="utf-8").read()
        return "<style>\n%s\n</style>" % css.replace("</style", "<\\/style")
    html = re.sub(r'<link rel="stylesheet" href="([^"]+)">', inline_css, html)
    favicon = os.path.join(site, "favicon.svg")
    if os.path.exists(favicon):
        data = base64.b64encode(open(favicon, "rb").read()).decode("ascii")
        html = html.replace('href="favicon.svg"', 'href="data:image/svg+xml;base64,%s"' % data)
    script = '<script type="module" src="js/main.js"></script>'
    if script not in html:
        raise SystemExit("index.html no longer loads js/main.js as expected: update the single-file build")
    html = html.replace(script, '<script type="module">\n%s\n</script>' % bundle)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w", encoding="utf-8") as f:
        f.write(html)
    print("wrote %s (%d KB: model %s, %d modules)" % (args.out, os.path.getsize(args.out) // 1024, entry["id"], len(bundler.order)))


if __name__ == "__main__":
    sys.exit(main())
