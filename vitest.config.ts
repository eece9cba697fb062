import { defineConfig } from 'vitest/config';

// Three projects: unit (pure logic, fast), integration (real lr-server/lr-agent processes on loopback),
// e2e (the browser shell in Debian's Chromium). `npm test` runs them all after a build. Skipped tests are
// listed by name at the end (test/skipped-reporter.ts).
export default defineConfig({
  test: {
    reporters: ['default', './test/skipped-reporter.ts'],
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 30_000 } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
