/**
 * The page's bundle (services/gateway/public/app.js) is what `npm run build` makes from public/src/app.js
 * and @parley/client, and the client brings no schema library into it (types only from libs/protocol).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@jest/globals';

const root = join(import.meta.dirname, '..');

test('the committed bundle is the build of its sources', () => {
  const r = spawnSync(process.execPath, [join(root, 'scripts/build-page.mjs'), '--check'], {
    encoding: 'utf8',
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
});

test('the bundle holds the client and no zod', () => {
  const bundle = readFileSync(join(root, 'services/gateway/public/app.js'), 'utf8');
  expect(bundle).toMatch(/ParleyClient = class|class ParleyClient/);
  expect(bundle).not.toMatch(/zod|ZodType|toJSONSchema/);
  expect(bundle.length).toBeLessThan(64 * 1024);
});
