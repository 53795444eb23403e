/** The config declarations: defaults parse, bad values are reported together, the README documents every variable. */
import { readFileSync } from 'node:fs';
import { expect, test } from '@jest/globals';
import { ConfigError, parseConfig } from '@parley/config';
import { gatewayConfigSpec } from '../src/config.js';

test('defaults parse; JWT_SECRET falls back to a development default with a warning', () => {
  const { config, warnings } = parseConfig(gatewayConfigSpec, {});
  expect(config).toMatchObject({
    PORT: 8000,
    MAX_UPLOAD_BYTES: 10 * 1024 * 1024,
    ADMIN_TOKEN: null,
    ALLOWED_ORIGINS: null,
  });
  expect(config.GATEWAY_ID).toMatch(/^gw-[0-9a-f]{12}$/);
  expect(warnings).toEqual([expect.stringContaining('JWT_SECRET')]);
});

test('every bad value is reported at once, secrets are never echoed', () => {
  let err: unknown;
  try {
    parseConfig(gatewayConfigSpec, {
      PORT: 'x',
      JWT_SECRET: 'short-secret',
      GATEWAY_ID: 'a.b',
      ALLOWED_ORIGINS: 'https://a, https://b',
    });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ConfigError);
  const problems = (err as ConfigError).problems;
  expect(problems.map((p) => p.split(':')[0])).toEqual(['PORT', 'JWT_SECRET', 'GATEWAY_ID']);
  expect(problems.join('\n')).not.toContain('short-secret');
});

test('the README documents every variable', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  for (const name of Object.keys(gatewayConfigSpec)) expect(readme).toContain(`\`${name}\``);
});
