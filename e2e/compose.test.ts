/**
 * docker-compose.yml and the Dockerfile, checked statically (no Docker engine on CI machines): every
 * declared variable passes through, no secret has a default that is not clearly a development one,
 * every service is health-checked, restarts, runs a pinned image and gets a stop grace longer than the
 * services' shutdown bound; the runtime image installs only the services' production dependencies.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@jest/globals';
import type { ConfigSpec } from '@parley/config';
import { parse } from 'yaml';
import { dialogsConfigSpec } from '../services/dialogs/src/config.js';
import { gatewayConfigSpec } from '../services/gateway/src/config.js';
import { mailerConfigSpec } from '../services/mailer/src/config.js';
import { notifierConfigSpec } from '../services/notifier/src/config.js';

const root = join(import.meta.dirname, '..');
const text = readFileSync(join(root, 'docker-compose.yml'), 'utf8');
// biome-ignore lint/suspicious/noExplicitAny: plain YAML
const compose = parse(text, { merge: true }) as any;
const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
const specs: ConfigSpec[] = [gatewayConfigSpec, dialogsConfigSpec, notifierConfigSpec, mailerConfigSpec];
const declared = new Map(specs.flatMap((s) => Object.entries(s)));
/** the services' shutdown bound (onShutdownSignals' graceMs) */
const SHUTDOWN_S = 15;
const PARLEY = ['dialogs', 'gateway', 'notifier', 'mailer'];

test('every declared variable passes through to the services as a `VAR:-` substitution', () => {
  const env = compose['x-env'] as Record<string, string>;
  for (const name of declared.keys()) {
    expect({ name, value: env[name] }).toEqual({ name, value: expect.stringMatching(`^\\$\\{${name}:-`) });
  }
  for (const service of PARLEY) {
    expect(compose.services[service].environment).toMatchObject({
      // development unless the operator says otherwise
      NODE_ENV: ['$', '{NODE_ENV:-development}'].join(''),
      SERVICE: service,
    });
  }
});

test('a secret has no default, or a clearly development-only one', () => {
  const env = compose['x-env'] as Record<string, string>;
  const secrets = [...declared].filter(([, v]) => v.secret).map(([k]) => k);
  expect(secrets).toEqual(expect.arrayContaining(['JWT_SECRET', 'ADMIN_TOKEN']));
  for (const name of secrets) {
    const fallback = /^\$\{\w+:-(.*)\}$/.exec(env[name] ?? '')?.[1] ?? '';
    // a URL without credentials (smtp://mailpit:1025) holds no secret
    const holdsSecret =
      fallback !== '' && (/\/\/[^/@]*:[^/@]*@/.test(fallback) || !/^\w+:\/\//.test(fallback));
    if (holdsSecret)
      expect({ name, fallback }).toEqual({ name, fallback: expect.stringMatching(/dev-only/) });
  }
});

test('every service is health-checked, restarts, runs a pinned image and stops with a long enough grace', () => {
  for (const [name, service] of Object.entries(compose.services as Record<string, Record<string, unknown>>)) {
    const s = service as {
      healthcheck?: { test?: unknown };
      restart?: string;
      image?: string;
      stop_grace_period?: string;
    };
    expect({ name, check: Array.isArray(s.healthcheck?.test) }).toEqual({ name, check: true });
    expect({ name, restart: s.restart }).toEqual({ name, restart: 'unless-stopped' });
    expect({ name, image: s.image }).toEqual({
      name,
      image: expect.stringMatching(/^[\w./-]+:(v?\d[\w.-]*|local)$/),
    });
    if (PARLEY.includes(name))
      expect(Number.parseInt(s.stop_grace_period ?? '0', 10)).toBeGreaterThan(SHUTDOWN_S);
  }
});

test('the Dockerfile: pinned LTS base, deps before sources, production deps of the services only, non-root, health check', () => {
  expect(dockerfile).toMatch(/^ARG NODE_IMAGE=node:\d+\.\d+\.\d+-bookworm-slim$/m);
  const install = dockerfile.indexOf('RUN npm ci');
  expect(install).toBeGreaterThan(0);
  expect(install).toBeLessThan(dockerfile.indexOf('COPY libs libs'));
  expect(dockerfile).toMatch(
    /npm ci --omit=dev[^\n]*\\\n\s+-w services\/gateway -w services\/dialogs -w services\/notifier -w services\/mailer/,
  );
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('FROM '));
  expect(runtime).not.toMatch(/libs\/(testing|testcontainers|client)\/dist/);
  expect(runtime).toMatch(/^USER node$/m);
  expect(runtime).toMatch(/chown -R node:node \/app\/var/);
  expect(runtime).toMatch(/^HEALTHCHECK /m);
});
