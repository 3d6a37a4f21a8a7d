import { existsSync } from 'node:fs';
// ESM throughout: NestJS 12 ships as ES modules, and Jest only loads them natively in its
// ESM mode (`--experimental-vm-modules`, set by `npm test`); on Node 20 its CommonJS mode
// cannot require() them.
const swc = [
  '@swc/jest',
  {
    jsc: {
      target: 'es2023',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true },
    },
    module: { type: 'es6' },
    sourceMaps: 'inline',
  },
];
// The browser tests need Chromium (Debian's package, or QUIRE_CHROMIUM). On a machine with nothing
// but Node they are left out with a notice, so that `npm test` runs there (issue 12); in CI a
// missing browser fails them instead, since .ci/run installs it.
const chromium = process.env.QUIRE_CHROMIUM ?? '/usr/bin/chromium';
const withoutBrowser = !process.env.CI && !existsSync(chromium);
if (withoutBrowser)
  console.warn(
    `jest.config.js: ${chromium} is missing, so test/portal (browser tests) is left out; install chromium or set QUIRE_CHROMIUM to run it`,
  );
const common = {
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': swc },
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testEnvironment: 'node',
};
export default {
  // Integration and end-to-end tests start real servers and processes.
  testTimeout: 60_000,
  // A throwaway PostgreSQL for the run unless QUIRE_TEST_PGURL names one (README, "Tests").
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
  globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/src/**/*.spec.ts'] },
    { ...common, displayName: 'integration', testMatch: ['<rootDir>/test/**/*.int-spec.ts'] },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      testPathIgnorePatterns: withoutBrowser ? ['/node_modules/', '<rootDir>/test/portal/'] : ['/node_modules/'],
    },
  ],
};
