import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{indicium,central,pipeline,scanner-sim,dashboards,test,bin}/**/*.test.ts'],
    pool: 'forks',
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 120_000,
    // A run in which no test file matched must fail (.ci/run relies on it).
    passWithNoTests: false,
  },
});
