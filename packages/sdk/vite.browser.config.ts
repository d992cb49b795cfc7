import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The browser bundle: one ES module with MQTT.js' browser build and the protocol package inside,
// for pages without a bundler of their own (`import { connect } from './mercurio-sdk.js'`).
export default defineConfig({
  resolve: {
    alias: {
      '@mercurio/protocol': fileURLToPath(new URL('../protocol/src/index.ts', import.meta.url)),
    },
  },
  build: {
    outDir: 'dist/browser',
    emptyOutDir: true,
    minify: true,
    lib: { entry: 'src/index.ts', formats: ['es'], fileName: () => 'mercurio-sdk.js' },
  },
});
