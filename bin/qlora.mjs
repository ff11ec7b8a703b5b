#!/usr/bin/env node
// `qlora` (npx qlora …): bundles src/cli with esbuild into node_modules/.cache (a fraction of a second)
// and runs it, so the CLI always runs the sources of this checkout.
import { rmSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import { bundle } from '../scripts/bundle.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'node_modules', '.cache', 'qlora', `cli-${process.pid}.mjs`);
await bundle(join(root, 'src', 'cli', 'entry.ts'), out);
process.on('exit', () => rmSync(out, { force: true }));
await import(pathToFileURL(out).href);
