import { defineConfig } from "vite";

// Served by the gateway under /console/; the build holds only hashed files plus index.html,
// so the gateway can cache assets for a year and index.html not at all.
export default defineConfig({
  base: "/console/",
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    // The polyfill would add code every supported browser already has natively.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
  },
});
