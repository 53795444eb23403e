import { describe, expect, test } from '@jest/globals';
import { ConfigError, natsVars, parseConfig, parsers } from '@parley/config';

const spec = {
  ...natsVars,
  PORT: { doc: 'port', default: '8000', parse: parsers.int(0, 65535) },
  SECRET: { doc: 'a secret', devDefault: 'dev', secret: true, parse: parsers.string },
  MODE: { doc: 'mode', parse: parsers.oneOf('a', 'b') },
  URL: { doc: 'url', default: 'http://x/', parse: parsers.url('http') },
};

describe('config', () => {
  test('parses, applies defaults, freezes, and warns on development defaults', () => {
    const { config, warnings } = parseConfig(spec, { MODE: 'a', NATS_URL: 'nats://a:1, nats://b:2' });
    expect(config).toEqual({
      NATS_URL: ['nats://a:1', 'nats://b:2'],
      SUBJECT_PREFIX: 'parley',
      NATS_REPLICAS: 1,
      PORT: 8000,
      SECRET: 'dev',
      MODE: 'a',
      URL: 'http://x',
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(warnings).toEqual(['SECRET is not set: using an insecure development default']);
  });

  test('reports every bad variable at once and never prints a secret', () => {
    try {
      parseConfig(spec, { PORT: 'eighty', SECRET: 'hunter2', URL: 'ftp://x', SUBJECT_PREFIX: 'a b' });
      throw new Error('accepted');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const e = err as ConfigError;
      expect(e.problems).toHaveLength(4);
      expect(e.message).toMatch(/PORT: expected an integer/);
      expect(e.message).toMatch(/MODE is required/);
      expect(e.message).toMatch(/URL: expected a http URL/);
      expect(e.message).toMatch(/SUBJECT_PREFIX/);
      expect(e.message).not.toContain('hunter2');
    }
  });
});
