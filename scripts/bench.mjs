#!/usr/bin/env node
// `npm run bench -- …`: bundles src/bench/main.ts (WGSL inlined) and runs it. With --bundle-only PATH it
// only writes the bundle (for the GPU runner, which has Node and Dawn but no node_modules).
import { rmSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { bundle } from './bundle.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const only = args.indexOf('--bundle-only');
if (only >= 0) {
  const out = resolve(args[only + 1] ?? '.gpu/bench.js');
  await bundle(join(root, 'src', 'bench', 'main.ts'), out);
  console.log(out);
} else {
  const out = join(root, 'node_modules', '.cache', 'qlora', `bench-${process.pid}.mjs`);
  await bundle(join(root, 'src', 'bench', 'main.ts'), out);
  process.on('exit', () => rmSync(out, { force: true }));
  await import(pathToFileURL(out).href);
}
