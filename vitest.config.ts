import { defineConfig } from 'vitest/config';

// Three projects: unit (pure logic, fast), integration (real lr-server/lr-agent processes on loopback),
// e2e (the browser shell in Debian's Chromium). `npm test` runs them all after a build.
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 30_000 } },
      { test: { name: 'integration', include: ['test/integration/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 120_000, fileParallelism: false } },
      { test: { name: 'e2e', include: ['test/e2e/**/*.test.ts'], testTimeout: 120_000, hookTimeout: 120_000, fileParallelism: false } },
    ],
  },
});
