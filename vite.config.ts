// Vite serves the app (index.html → src/ui) and the bench page (src/bench/bench.html), and
// bundles the worker; vitest runs test/**.
// WGSL is imported as text with the `?raw` suffix, which both Vite and esbuild (scripts/bundle.mjs) understand.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  server: { host: '127.0.0.1', port: 5173 },
  preview: { host: '127.0.0.1', port: 4173 },
  worker: { format: 'es' },
  build: {
    target: 'es2022',
    outDir: 'dist',
    rollupOptions: { input: { main: 'index.html', bench: 'src/bench/bench.html' } },
  },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    testTimeout: 300_000,
    hookTimeout: 300_000,
    // Dawn's SwiftShader device is heavy; one test file at a time on a 2-core machine.
    fileParallelism: false,
    pool: 'forks',
    reporters: ['default', 'json'],
    outputFile: { json: 'test-output/vitest.json' },
  },
});
