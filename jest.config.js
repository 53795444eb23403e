/** One jest setup for the whole repo: ESM, TypeScript through SWC, sources of
 * the workspace libs through the `parley-src` export condition. */
export default {
  testEnvironment: 'node',
  testEnvironmentOptions: { customExportConditions: ['parley-src', 'node', 'node-addons'] },
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'es6' },
      },
    ],
  },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testMatch: [
    '<rootDir>/{libs,services}/*/test/**/*.test.ts',
    '<rootDir>/e2e/**/*.test.ts',
    '<rootDir>/examples/*/test/**/*.test.ts',
  ],
  testTimeout: 30000,
  maxWorkers: 2,
};
