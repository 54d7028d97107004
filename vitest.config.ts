import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: { conditions: ['agentchart-source'] },
  ssr: { resolve: { conditions: ['agentchart-source'], externalConditions: ['agentchart-source'] } },
  test: {
    // Builds the studio's web app (well under a second), which its tests serve.
    globalSetup: ['test/global-setup.ts'],
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
