// Bundles a TypeScript entry point (the CLI, the GPU benchmark) into one ES module with esbuild:
// WGSL imported with `?raw` becomes a string, as under Vite; Dawn (`webgpu`) stays external because
// it loads a native addon (a bundle run without node_modules passes DAWN_NODE_PATH instead).
import { build } from 'esbuild';

const rawText = {
  name: 'raw-text',
  setup(b) {
    b.onResolve({ filter: /\?raw$/ }, async (args) => {
      const r = await b.resolve(args.path.slice(0, -4), { resolveDir: args.resolveDir, kind: args.kind });
      return { path: r.path, namespace: 'raw-text' };
    });
    b.onLoad({ filter: /.*/, namespace: 'raw-text' }, async (args) => {
      const { readFile } = await import('node:fs/promises');
      return { contents: await readFile(args.path, 'utf8'), loader: 'text' };
    });
  },
};

export async function bundle(entry, outfile, { minify = false } = {}) {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['webgpu'],
    plugins: [rawText],
    minify,
    logLevel: 'warning',
    // esm bundles that use require() (createRequire) need it defined
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  return outfile;
}
