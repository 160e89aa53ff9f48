import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

// Two pages: tuswasm's own API (index.html) and Uppy's Dashboard on tuswasm (uppy.html).
const page = (name) => fileURLToPath(new URL(name, import.meta.url))
export default defineConfig({
  build: { rollupOptions: { input: { main: page('index.html'), uppy: page('uppy.html') } } },
})
