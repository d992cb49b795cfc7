import { defineConfig } from 'vite';

// widget.js: the loader a host page includes with one classic <script> tag (global MercurioWidget).
export default defineConfig({
  build: {
    outDir: 'dist',
    emptyOutDir: false,
    lib: {
      entry: 'src/loader.ts',
      name: 'MercurioWidget',
      formats: ['iife'],
      fileName: () => 'widget.js',
    },
  },
});
