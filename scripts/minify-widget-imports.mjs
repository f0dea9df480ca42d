// Renames the wasm-bindgen glue's imports (e.g. `__wbg_name_<16 hex>`, all under the
// module "./defmis_widget_bg.js") to short names in both the .wasm and the
// .js, consistently. The hashes do not compress and appear twice; nothing
// else changes (same functions, same order). Also drops the glue's comments
// and indentation, and shortens the exports only the glue reads. Usage: node this.mjs glue.js module.wasm
import { readFileSync, writeFileSync } from 'node:fs';

const [jsPath, wasmPath] = process.argv.slice(2);
const wasm = readFileSync(wasmPath);
let js = readFileSync(jsPath, 'utf8');
const MOD = './defmis_widget_bg.js';

let i = 8;
const leb = () => { let r = 0, s = 0, b; do { b = wasm[i++]; r |= (b & 0x7f) << s; s += 7; } while (b & 0x80); return r >>> 0; };
const enc = (n) => { const o = []; do { let b = n & 0x7f; n >>>= 7; if (n) b |= 0x80; o.push(b); } while (n); return Buffer.from(o); };
const str = (s) => { const b = Buffer.from(s, 'utf8'); return Buffer.concat([enc(b.length), b]); };
const short = (k) => { const a = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'; let s = ''; do { s += a[k % 52]; k = Math.floor(k / 52); } while (k); return s; };

const out = [wasm.subarray(0, 8)];
const names = new Map();
let exports = 0;
if (/\$(?!\{)/.test(js)) throw new Error('the glue already uses $ (short export names start with it)');
while (i < wasm.length) {
  const id = wasm[i++];
  const len = leb();
  const start = i, end = i + len;
  if (id === 7) {
    // Exports the glue reads as `wasm.NAME` (and nowhere else) get short
    // names too; the module's own exports (`start`, `open`, …) are the
    // glue's functions, whose names do not change.
    const count = leb();
    const parts = [enc(count)];
    for (let n = 0; n < count; n++) {
      const nl = leb(); let name = wasm.toString('utf8', i, i + nl); i += nl;
      const descStart = i; i++; leb();
      const uses = js.split(name).length - 1;
      const re = new RegExp('\\bwasm\\.' + name + '\\b', 'g');
      const reads = (js.match(re) || []).length;
      if (name.length > 2 && uses > 0 && uses === reads) {
        const s = '$' + short(exports++);
        js = js.replace(re, 'wasm.' + s);
        name = s;
      } else if (/__h[0-9a-f]{16}$/.test(name) && uses > 0) {
        // A closure shim: the glue names its JS wrapper after it too.
        const s = '$' + short(exports++);
        js = js.replace(new RegExp('\\b' + name + '\\b', 'g'), s);
        name = s;
      }
      parts.push(str(name), wasm.subarray(descStart, i));
    }
    if (i !== end) throw new Error('export section not fully read');
    const body = Buffer.concat(parts);
    out.push(Buffer.from([7]), enc(body.length), body);
    continue;
  }
  if (id !== 2) { out.push(wasm.subarray(start - 1 - enc(len).length, end)); i = end; continue; }
  const count = leb();
  const parts = [enc(count)];
  for (let n = 0; n < count; n++) {
    const ml = leb(); const mod = wasm.toString('utf8', i, i + ml); i += ml;
    const fl = leb(); const field = wasm.toString('utf8', i, i + fl); i += fl;
    const descStart = i; const kind = wasm[i++];
    if (kind === 0) leb();
    else if (kind === 1) { i++; const f = wasm[i++]; leb(); if (f & 1) leb(); }
    else if (kind === 2) { const f = wasm[i++]; leb(); if (f & 1) leb(); }
    else if (kind === 3) { i += 2; }
    else throw new Error('unknown import kind ' + kind);
    let m = mod, f = field;
    if (mod === MOD) {
      m = 'w';
      if (!names.has(field)) names.set(field, short(names.size));
      f = names.get(field);
    }
    parts.push(str(m), str(f), wasm.subarray(descStart, i));
  }
  if (i !== end) throw new Error('import section not fully read');
  const body = Buffer.concat(parts);
  out.push(Buffer.from([2]), enc(body.length), body);
}
for (const [long, s] of names) {
  const re = new RegExp('\\b' + long + ':', 'g');
  const hits = js.match(re);
  if (!hits || hits.length !== 1) throw new Error(`${long}: ${hits ? hits.length : 0} uses in the glue`);
  if (js.split(long).length !== 2) throw new Error(`${long} appears elsewhere in the glue`);
  js = js.replace(re, s + ':');
}
if (js.split(`"${MOD}"`).length !== 2) throw new Error('module name not found once in the glue');
js = js.replace(`"${MOD}"`, '"w"');
// Comments and indentation out of the glue, line by line (safe: the glue
// has no multi-line strings or template literals, which is checked).
const lines = js.split('\n');
if (lines.some((l) => (l.split('`').length - 1) % 2)) throw new Error('multi-line template literal in the glue');
let inDoc = false;
js = lines
  .map((l) => l.trim())
  .filter((l) => {
    if (inDoc) { inDoc = !l.endsWith('*/'); return false; }
    if (l.startsWith('/*')) { inDoc = !l.endsWith('*/'); return false; }
    return l !== '' && !l.startsWith('//');
  })
  .join('\n') + '\n';
writeFileSync(wasmPath, Buffer.concat(out));
writeFileSync(jsPath, js);
console.log(`renamed ${names.size} imports`);
