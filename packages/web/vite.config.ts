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
  // `vite dev`: the app talks to its own origin (it never takes endpoints from the address bar),
  // so the dev server passes the API, the MQTT WebSocket and config.json on to a local Mercurio.
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:8004',
      '/config.json': 'http://127.0.0.1:8004',
      '/ws': { target: 'ws://127.0.0.1:8004', ws: true },
    },
  },
});
