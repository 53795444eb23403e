/**
 * docker-compose.yml and the Dockerfile, checked statically (no Docker engine on CI machines): every
 * declared variable passes through, no secret has a default that is not clearly a development one,
 * every service is health-checked, restarts, runs a pinned image and gets a stop grace longer than the
 * services' shutdown bound; the runtime image installs only the services' production dependencies.
 * Profile `cluster`: three routed JetStream nodes and two replicas of every service on all three, each
 * getting only variables it declares (e2e/manifests.ts), while the default services stay as they were.
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
import { type Context, composeProblems, imageEnvOf, servedEndpoints } from './manifests.js';

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
const CLUSTER = PARLEY.map((s) => `${s}-cluster`);
const NODES = ['nats-1', 'nats-2', 'nats-3'];
const ctx: Context = {
  root,
  specs: {
    gateway: gatewayConfigSpec,
    dialogs: dialogsConfigSpec,
    notifier: notifierConfigSpec,
    mailer: mailerConfigSpec,
  },
  served: servedEndpoints(root),
  imageEnv: imageEnvOf(dockerfile),
};

test('every declared variable passes through to the services as a `VAR:-` substitution', () => {
  const env = compose['x-env'] as Record<string, string>;
  for (const name of declared.keys()) {
    expect({ name, value: env[name] }).toEqual({ name, value: expect.stringMatching(`^\\$\\{${name}:-`) });
  }
  for (const service of [...PARLEY, ...CLUSTER]) {
    expect(compose.services[service].environment).toMatchObject({
      // development unless the operator says otherwise
      NODE_ENV: ['$', '{NODE_ENV:-development}'].join(''),
      SERVICE: service.replace(/-cluster$/, ''),
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
  // the cluster's own values (its database URL) hold development-only credentials too
  for (const service of CLUSTER)
    for (const name of secrets) {
      const value = compose.services[service].environment[name] as string;
      if (value !== env[name] && /\/\/[^/@]*:[^/@]*@/.test(value))
        expect({ service, name, value }).toEqual({
          service,
          name,
          value: expect.stringMatching(/:dev-only[\w-]*@/),
        });
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

test('profile cluster: three JetStream nodes routed to each other, each with its own volume', () => {
  const nodes = Object.entries(compose.services as Record<string, { profiles?: string[] }>)
    .filter(
      ([, s]) => s.profiles?.includes('cluster') && /^nats/.test(String((s as { image?: string }).image)),
    )
    .map(([name]) => name);
  expect(nodes).toEqual(NODES);
  const volumes = new Set<string>();
  for (const name of NODES) {
    const node = compose.services[name];
    expect(node.image).toBe(compose.services.nats.image);
    const args: string[] = node.command;
    const flag = (f: string) => args[args.indexOf(f) + 1];
    expect(args).toContain('-js');
    expect({ name, n: flag('-n'), cluster: flag('--cluster') }).toEqual({
      name,
      n: name,
      cluster: 'nats://0.0.0.0:6222',
    });
    expect(flag('--cluster_name')).toBe('parley');
    expect(flag('--routes')?.split(',').sort()).toEqual(
      NODES.filter((n) => n !== name).map((n) => `nats://${n}:6222`),
    );
    const [volume, mount] = String(node.volumes[0]).split(':');
    expect(mount).toBe(flag('-sd'));
    volumes.add(volume as string);
    expect((volume as string) in compose.volumes).toBe(true);
    expect(node.healthcheck.test.join(' ')).toMatch(/8222\/healthz/);
  }
  expect(volumes.size).toBe(NODES.length);
});

test('profile cluster: two replicas of every service, on all three nodes with NATS_REPLICAS=3', () => {
  for (const name of CLUSTER) {
    const s = compose.services[name];
    expect({ name, profiles: s.profiles, replicas: s.deploy?.replicas }).toEqual({
      name,
      profiles: ['cluster'],
      replicas: 2,
    });
    expect(s.environment.NATS_URL.split(',')).toEqual(NODES.map((n) => `nats://${n}:4222`));
    expect(s.environment.NATS_REPLICAS).toBe('3');
    for (const node of NODES) expect(s.depends_on[node]).toEqual({ condition: 'service_healthy' });
    // nothing of the default stack but its MySQL and Mailpit
    for (const dep of Object.keys(s.depends_on))
      expect([...NODES, ...CLUSTER, 'mysql', 'mailpit']).toContain(dep);
  }
  const dialogs = compose.services['dialogs-cluster'].environment;
  expect(new URL(dialogs.MYSQL_URL).pathname).toBe('/parley_cluster');
  // one host port per gateway replica
  expect(compose.services['gateway-cluster'].ports).toEqual([expect.stringMatching(/^8001-8002:/)]);
  expect(compose.services['gateway-cluster'].environment.GATEWAY_ID).toBe('');
});

test('profile cluster: every service gets only variables it declares', () => {
  expect(composeProblems(ctx, compose, CLUSTER)).toEqual([]);
  // caught: a variable no service declares, and one the receiving service does not read
  const bad = structuredClone(compose);
  bad.services['notifier-cluster'].environment.NOTIFIER_TURBO = '1';
  bad.services['mailer-cluster'].environment.PORT = '9000';
  bad.services['gateway-cluster'].environment.SERVICE = 'pusher';
  bad['x-env'].LOG_COLOUR = 'true';
  expect(composeProblems(ctx, bad, CLUSTER)).toEqual([
    'x-env: LOG_COLOUR is declared by no service',
    'gateway-cluster: SERVICE=pusher: command runs services/pusher, which is not a Parley service',
    'notifier-cluster: NOTIFIER_TURBO is not a variable notifier declares',
    'mailer-cluster: PORT is not a variable mailer declares',
  ]);
});

test('without the profile nothing changes: the default services, on the one NATS node', () => {
  const services = compose.services as Record<
    string,
    { profiles?: string[]; depends_on?: object; environment?: Record<string, string> }
  >;
  const always = Object.entries(services)
    .filter(([, s]) => !s.profiles)
    .map(([name]) => name);
  expect(always).toEqual(['mysql', 'nats', 'mailpit', 'dialogs', 'gateway', 'notifier', 'mailer']);
  for (const name of always) {
    for (const dep of Object.keys(services[name]?.depends_on ?? {})) expect(always).toContain(dep);
  }
  for (const name of PARLEY) {
    expect(services[name]?.environment?.NATS_URL).toBe(['$', '{NATS_URL:-nats://nats:4222}'].join(''));
    expect(services[name]?.environment?.NATS_REPLICAS).toBe(['$', '{NATS_REPLICAS:-}'].join(''));
  }
});
