import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The SDK and protocol are bundled from their TypeScript sources (as in the tests), with MQTT.js' browser build.
export default defineConfig({
  base: './',
  resolve: {
    alias: {
      '@mercurio/protocol': fileURLToPath(new URL('../protocol/src/index.ts', import.meta.url)),
      '@mercurio/sdk': fileURLToPath(new URL('../sdk/src/index.ts', import.meta.url)),
    },
  },
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1000 },
});
