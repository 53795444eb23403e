/** NODE_ENV=production refuses missing, short and published secrets in one sentence each; development warns. */
import { describe, expect, test } from '@jest/globals';
import {
  authVars,
  ConfigError,
  DEVELOPMENT_JWT_SECRET,
  PUBLISHED_SECRETS,
  parseConfig,
  parsers,
  runtimeVars,
} from '@parley/config';

const spec = {
  NODE_ENV: runtimeVars.NODE_ENV,
  JWT_SECRET: authVars.JWT_SECRET,
  ADMIN_TOKEN: {
    doc: 'admin token',
    default: '-',
    secret: true,
    productionSecret: true,
    parse: parsers.optional(parsers.string),
  },
};

const STRONG = 'k3Jd9x2LmQp7Vt4Zr8Wn1Yb6Hc5Fg0Aa'; // 34 bytes, written only here
const STRONG_ADMIN = 'admin-Qw8Er7Ty6Ui5Op4As3Df2Gh1Jk0Lz';

function problems(env: Record<string, string>): string[] {
  try {
    parseConfig(spec, env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('NODE_ENV=production', () => {
  test('missing secrets: one sentence each, naming the variable and what to do', () => {
    expect(problems({ NODE_ENV: 'production' })).toEqual([
      'JWT_SECRET is required when NODE_ENV=production: set it to a random value of at least 32 bytes (e.g. `openssl rand -base64 48`)',
      'ADMIN_TOKEN is required when NODE_ENV=production: set it to a random value of at least 32 bytes (e.g. `openssl rand -base64 48`)',
    ]);
    expect(problems({ NODE_ENV: 'production', JWT_SECRET: STRONG, ADMIN_TOKEN: '-' })).toEqual([
      expect.stringMatching(/^ADMIN_TOKEN is required when NODE_ENV=production/),
    ]);
  });

  test('every published value is refused, even padded with blanks, and never echoed', () => {
    expect(PUBLISHED_SECRETS).toContain(DEVELOPMENT_JWT_SECRET);
    for (const value of PUBLISHED_SECRETS) {
      for (const v of [value, ` ${value} `]) {
        const found = problems({ NODE_ENV: 'production', JWT_SECRET: v, ADMIN_TOKEN: v });
        expect(found).toEqual([
          expect.stringMatching(/^JWT_SECRET is a value published in the Parley repository/),
          expect.stringMatching(/^ADMIN_TOKEN is a value published in the Parley repository/),
        ]);
        expect(found.join('\n')).not.toContain(value);
      }
    }
  });

  test('shorter than 32 bytes is refused; the length is counted in UTF-8 bytes', () => {
    const short = 'x'.repeat(31);
    expect(problems({ NODE_ENV: 'production', JWT_SECRET: short, ADMIN_TOKEN: STRONG_ADMIN })).toEqual([
      expect.stringMatching(/^JWT_SECRET is shorter than 32 bytes/),
    ]);
    // 16 two-byte characters are 32 bytes
    expect(
      problems({ NODE_ENV: 'production', JWT_SECRET: 'é'.repeat(16), ADMIN_TOKEN: STRONG_ADMIN }),
    ).toEqual([]);
  });

  test('strong secrets start without a warning', () => {
    const { config, warnings } = parseConfig(spec, {
      NODE_ENV: 'production',
      JWT_SECRET: STRONG,
      ADMIN_TOKEN: STRONG_ADMIN,
    });
    expect(config).toEqual({ NODE_ENV: 'production', JWT_SECRET: STRONG, ADMIN_TOKEN: STRONG_ADMIN });
    expect(warnings).toEqual([]);
  });
});

describe('development', () => {
  test('keeps the development default with a loud warning, and an unset admin token', () => {
    const { config, warnings } = parseConfig(spec, {});
    expect(config).toEqual({
      NODE_ENV: 'development',
      JWT_SECRET: DEVELOPMENT_JWT_SECRET,
      ADMIN_TOKEN: null,
    });
    expect(warnings).toEqual(['JWT_SECRET is not set: using an insecure development default']);
  });

  test('a published value is accepted with a warning', () => {
    const { warnings } = parseConfig(spec, {
      NODE_ENV: 'development',
      JWT_SECRET: 'change-me-in-production',
    });
    expect(warnings).toEqual(['JWT_SECRET is a value published in the repository: anyone can forge with it']);
  });
});
