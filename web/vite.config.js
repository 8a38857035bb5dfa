import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";
import tailwindcss from "@tailwindcss/vite";

// base "./": the build works from any path on any static host (S3 + CloudFront, Amplify, the local
// stack), and fetches config.json next to index.html.
export default defineConfig({
  base: "./",
  plugins: [react(), tailwindcss()],
  test: {
    environment: "node",
    include: ["src/**/*.test.js"],
  },
});
