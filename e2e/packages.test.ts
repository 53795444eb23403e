/** Release hygiene: every package has a semver version and the MIT licence of LICENSE; deps are pinned. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@jest/globals';

const root = join(import.meta.dirname, '..');
const read = (path: string) => JSON.parse(readFileSync(join(root, path), 'utf8'));
const rootPkg = read('package.json');
const packages: Array<[string, Record<string, unknown>]> = [
  ['.', rootPkg],
  ...(rootPkg.workspaces as string[]).map((w): [string, Record<string, unknown>] => [
    w,
    read(`${w}/package.json`),
  ]),
];
const SEMVER = /^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/;

test('every package: semver version, MIT like LICENSE', () => {
  expect(readFileSync(join(root, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
  for (const [dir, pkg] of packages) {
    expect({ dir, version: pkg.version, license: pkg.license }).toEqual({
      dir,
      version: expect.stringMatching(SEMVER),
      license: 'MIT',
    });
  }
});

test('every dependency is pinned to an exact version', () => {
  for (const [dir, pkg] of packages) {
    for (const field of ['dependencies', 'devDependencies'] as const) {
      for (const [name, range] of Object.entries((pkg[field] ?? {}) as Record<string, string>)) {
        expect({ dir, name, range }).toEqual({ dir, name, range: expect.stringMatching(SEMVER) });
      }
    }
  }
});

test('CHANGELOG.md has an entry for the current version', () => {
  expect(readFileSync(join(root, 'CHANGELOG.md'), 'utf8')).toContain(`## [${rootPkg.version}]`);
});
