// Builds the console (index.html) and the bundled GraphiQL (graphiql.html) into web/dist.
// The pure policy front end (src/policy) runs in the browser for the playground; its one
// Node import, node:crypto's SHA-256, is swapped for a browser implementation.
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

export default defineConfig({
  root: here('.'),
  base: '/',
  plugins: [react()],
  resolve: {
    alias: { 'node:crypto': here('src/lib/crypto-shim.ts') },
  },
  build: {
    outDir: here('dist'),
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 4000,
    rolldownOptions: {
      input: { console: here('index.html'), graphiql: here('graphiql.html') },
      // GraphiQL's React-compiler directives are meaningless once bundled
      onwarn(warning, warn) {
        if (warning.code !== 'MODULE_LEVEL_DIRECTIVE') warn(warning);
      },
    },
  },
  worker: { format: 'es' },
});
