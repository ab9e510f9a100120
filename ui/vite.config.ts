import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';
import { svelteTesting } from '@testing-library/svelte/vite';

export default defineConfig({
  plugins: [svelte(), svelteTesting()],
  // Tauri serves ui/dist from its own protocol: relative asset paths work
  // wherever the files end up.
  base: './',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // The webview is a current WebKitGTK / WebView2 / WKWebView.
    target: 'es2022',
  },
  test: {
    // Logic tests run in Node; tests that need a DOM say so in their first line.
    environment: 'node',
    include: ['src/**/*.test.ts'],
  },
});
