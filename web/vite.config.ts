import { defineConfig, type ProxyOptions } from 'vite';

// Development only: `npm run dev` and `npm run preview` proxy /api to a running `treu serve`
// (TREU_API, default http://127.0.0.1:18080); sign in with a dashboard user (`treu user create`).
function devProxy(): Record<string, ProxyOptions> {
  return { '/api': { target: process.env.TREU_API ?? 'http://127.0.0.1:18080' } };
}

// The server's Content-Security-Policy, so `npm run preview` shows what the built app does under it.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; " +
  "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

export default defineConfig(({ command }) => ({
  base: '/',
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  server: command === 'serve' ? { host: '127.0.0.1', port: 5173, proxy: devProxy() } : undefined,
  preview: { host: '127.0.0.1', port: 4173, proxy: devProxy(), headers: { 'Content-Security-Policy': CSP } },
  build: {
    outDir: 'dist',
    assetsDir: 'assets',
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    sourcemap: false,
    // The server's CSP forbids inline scripts: no modulepreload polyfill.
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 1200,
    rollupOptions: {
      output: {
        // ECharts changes less often than the app: its own file stays cached across releases.
        manualChunks: (id: string) => (/node_modules[\\/](echarts|zrender|tslib)[\\/]/.test(id) ? 'echarts' : undefined),
      },
    },
  },
}));
