#!/usr/bin/env node
// `npm run bench -- …`: bundles src/bench/main.ts (WGSL inlined) and runs it; `npm run device-check -- …`
// (this script with --device-check first) does the same for src/bench/device-check-main.ts. With
// --bundle-only PATH it only writes the bench bundle at PATH and the device check's beside it as
// device-check.js (for the GPU runner, which has Node and Dawn but no node_modules).
import { rmSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import { bundle } from './bundle.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = (name) => join(root, 'src', 'bench', name);
const args = process.argv.slice(2);
const only = args.indexOf('--bundle-only');
if (only >= 0) {
  const out = resolve(args[only + 1] ?? '.gpu/bench.js');
  const check = join(dirname(out), 'device-check.js');
  await bundle(entry('main.ts'), out);
  await bundle(entry('device-check-main.ts'), check);
  console.log(out);
  console.log(check);
} else {
  const deviceCheck = args[0] === '--device-check';
  if (deviceCheck) process.argv.splice(2, 1); // the bundle reads its own options from process.argv
  const name = deviceCheck ? 'device-check' : 'bench';
  const out = join(root, 'node_modules', '.cache', 'qlora', `${name}-${process.pid}.mjs`);
  await bundle(entry(deviceCheck ? 'device-check-main.ts' : 'main.ts'), out);
  process.on('exit', () => rmSync(out, { force: true }));
  await import(pathToFileURL(out).href);
}
