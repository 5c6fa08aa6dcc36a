import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['__test__/**/*.test.ts'],
    // the native addon and the servers the tests start live in child processes
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
})
