import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["{host,simulator,tools,firmware}/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
