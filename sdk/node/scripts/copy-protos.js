'use strict';
// Run by `npm pack` (prepack): copies the repository's swapwire/v1 .proto
// files into proto/ so that the tarball carries them. The copy is ignored by
// git; index.js prefers it when present.
const fs = require('node:fs');
const path = require('node:path');

const src = path.join(__dirname, '..', '..', '..', 'proto', 'swapwire', 'v1');
const dst = path.join(__dirname, '..', 'proto', 'swapwire', 'v1');
fs.rmSync(path.join(__dirname, '..', 'proto'), { recursive: true, force: true });
fs.mkdirSync(dst, { recursive: true });
const files = fs.readdirSync(src).filter((f) => f.endsWith('.proto'));
if (files.length === 0) throw new Error(`no .proto files in ${src}`);
for (const f of files) fs.copyFileSync(path.join(src, f), path.join(dst, f));
console.error(`copied ${files.length} .proto files to proto/swapwire/v1`);
