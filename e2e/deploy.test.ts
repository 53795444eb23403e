/**
 * deploy/kubernetes, checked statically (no cluster on CI machines): every file parses; every
 * container of the Parley image runs a service that exists, gets only variables its config spec
 * declares, takes its secrets from the Secret and is probed where it serves /readyz and /healthz;
 * the NATS StatefulSet is a routed three-node JetStream cluster the services name in full; the
 * Secret template holds placeholders that the services refuse. The checker (e2e/manifests.ts) is
 * shown to catch each kind of mistake on small inline manifests.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from '@jest/globals';
import { ConfigError, type ConfigSpec, parseConfig } from '@parley/config';
import { parse, parseAllDocuments } from 'yaml';
import { dialogsConfigSpec } from '../services/dialogs/src/config.js';
import { gatewayConfigSpec } from '../services/gateway/src/config.js';
import { mailerConfigSpec } from '../services/mailer/src/config.js';
import { notifierConfigSpec } from '../services/notifier/src/config.js';
import { type Context, imageEnvOf, SERVICES, servedEndpoints, workloadProblems } from './manifests.js';

const root = join(import.meta.dirname, '..');
const dir = join(root, 'deploy/kubernetes');
const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
const parsed = files.map((file) => ({
  file,
  docs: parseAllDocuments(readFileSync(join(dir, file), 'utf8')),
}));
// biome-ignore lint/suspicious/noExplicitAny: parsed YAML
const docs: any[] = parsed.flatMap((p) => p.docs.map((d) => d.toJS()));
// biome-ignore lint/suspicious/noExplicitAny: parsed YAML
const find = (kind: string, name: string): any =>
  docs.find((d) => d.kind === kind && d.metadata.name === name);

const served = servedEndpoints(root);
const ctx: Context = {
  root,
  specs: {
    gateway: gatewayConfigSpec,
    dialogs: dialogsConfigSpec,
    notifier: notifierConfigSpec,
    mailer: mailerConfigSpec,
  },
  served,
  imageEnv: imageEnvOf(readFileSync(join(root, 'Dockerfile'), 'utf8')),
};

test('the endpoints read from the source: gateway /healthz /readyz on PORT, telemetry on METRICS_PORT', () => {
  const telemetry = ['/healthz', '/readyz', '/metrics'];
  expect(served).toEqual({
    // (/readyz too once it passes a readiness test of its own: not needed, its probes use PORT)
    gateway: {
      PORT: ['/healthz', '/readyz'],
      METRICS_PORT: expect.arrayContaining(['/healthz', '/metrics']),
    },
    dialogs: { METRICS_PORT: telemetry },
    notifier: { METRICS_PORT: telemetry },
    mailer: { METRICS_PORT: telemetry },
  });
  expect(ctx.imageEnv).toMatchObject({ NODE_ENV: 'production', METRICS_PORT: '9464', SERVICE: 'gateway' });
});

test('every file parses, and kustomization.yaml applies all of them but the Secret template', () => {
  for (const { file, docs: d } of parsed)
    expect({ file, errors: d.flatMap((x) => x.errors) }).toEqual({ file, errors: [] });
  const kustomization = docs.find((d) => d.kind === 'Kustomization');
  expect([...kustomization.resources].sort()).toEqual(
    files.filter((f) => f !== 'kustomization.yaml' && f !== 'secret.template.yaml').sort(),
  );
  expect(kustomization.images).toEqual([expect.objectContaining({ name: 'parley' })]);
  expect(kustomization.namespace).toBeUndefined();
  for (const d of docs)
    expect({ kind: d.kind, namespace: d.metadata?.namespace }).toEqual({
      kind: d.kind,
      namespace: undefined,
    });
});

test('the manifests: real services, declared variables, secrets from the Secret, probes where they are served', () => {
  expect(workloadProblems(ctx, docs)).toEqual([]);
  const deployments = docs.filter((d) => d.kind === 'Deployment');
  expect(deployments.map((d) => d.spec.template.spec.containers[0].command[1]).sort()).toEqual(
    SERVICES.map((s) => `services/${s}/dist/main.js`).sort(),
  );
  for (const d of deployments) {
    const c = d.spec.template.spec.containers[0];
    expect({ name: d.metadata.name, replicas: d.spec.replicas }).toEqual({
      name: d.metadata.name,
      replicas: 2,
    });
    expect(d.spec.template.metadata.labels).toMatchObject(d.spec.selector.matchLabels);
    expect(c.resources.requests).toEqual({
      cpu: expect.any(String),
      memory: expect.stringMatching(/^\d+Mi$/),
    });
    expect(c.resources.limits.memory).toMatch(/^\d+Mi$/);
    // the services stop within 15 s; the gateway pauses 5 s first
    expect(d.spec.template.spec.terminationGracePeriodSeconds).toBeGreaterThan(20);
  }
  const gateway = find('Service', 'parley-gateway');
  expect(gateway.spec.selector).toEqual(find('Deployment', 'parley-gateway').spec.selector.matchLabels);
  expect(gateway.spec.ports).toEqual([expect.objectContaining({ targetPort: 'http' })]);
  const images = docs.flatMap((d) => d.spec?.template?.spec?.containers ?? []).map((c) => c.image);
  // NATS as in docker-compose.yml
  const natsImage = parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')).services.nats.image;
  expect([...new Set(images)].sort()).toEqual([natsImage, 'parley']);
});

test('NATS: a three-node JetStream cluster, routed through its headless Service, named in full by NATS_URL', () => {
  const sts = find('StatefulSet', 'parley-nats');
  const headless = find('Service', sts.spec.serviceName);
  expect(sts.spec.replicas).toBe(3);
  expect(headless.spec).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
  expect(headless.spec.selector).toEqual(sts.spec.selector.matchLabels);
  const conf: string = find('ConfigMap', 'parley-nats-config').data['nats.conf'];
  const nodes = [0, 1, 2].map((i) => `${sts.metadata.name}-${i}.${sts.spec.serviceName}`);
  expect(conf).toMatch(/^\s*jetstream \{[^}]*store_dir: \/data/m);
  expect(conf).toMatch(/^\s*server_name: \$POD_NAME$/m);
  const routes = [...conf.matchAll(/nats:\/\/([\w.-]+):(\d+)/g)].map((m) => `${m[1]}:${m[2]}`);
  const clusterPort = /cluster \{[^}]*port: (\d+)/.exec(conf)?.[1];
  expect(routes).toEqual(nodes.map((n) => `${n}:${clusterPort}`));
  const c = sts.spec.template.spec.containers[0];
  // the server reads that file, and names itself after its pod
  const config = sts.spec.template.spec.volumes.find((v: { name: string }) => v.name === 'config');
  expect(config.configMap.name).toBe('parley-nats-config');
  expect(c.volumeMounts).toContainEqual({ name: 'config', mountPath: '/etc/nats' });
  expect(c.args).toEqual(['--config', '/etc/nats/nats.conf']);
  expect(c.env).toContainEqual({ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } });
  const portOf = (name: string) => c.ports.find((p: { name: string }) => p.name === name).containerPort;
  expect(String(portOf('cluster'))).toBe(clusterPort);
  expect(String(portOf('monitor'))).toBe(/^http_port: (\d+)$/m.exec(conf)?.[1]);
  for (const probe of [c.startupProbe, c.livenessProbe, c.readinessProbe])
    expect(probe.httpGet).toEqual({ path: expect.stringMatching(/^\/healthz(\?|$)/), port: 'monitor' });
  expect(c.volumeMounts).toContainEqual({ name: 'data', mountPath: '/data' });
  expect(sts.spec.volumeClaimTemplates.map((v: { metadata: { name: string } }) => v.metadata.name)).toEqual([
    'data',
  ]);
  const parley = find('ConfigMap', 'parley-config').data;
  expect(parley.NATS_URL.split(',')).toEqual(nodes.map((n) => `nats://${n}:${portOf('client')}`));
  expect(parley.NATS_REPLICAS).toBe('3');
});

test('storage: the files bucket fits in max_file_store, which fits in each node’s volume', () => {
  const units: Record<string, number> = {
    '': 1,
    K: 2 ** 10,
    M: 2 ** 20,
    G: 2 ** 30,
    KB: 2 ** 10,
    MB: 2 ** 20,
    GB: 2 ** 30,
    Gi: 2 ** 30,
  };
  const bytes = (s: string) => {
    const m = /^(\d+)([KMG]i?B?)?$/.exec(s) as RegExpExecArray;
    return Number(m[1]) * (units[m[2] ?? ''] as number);
  };
  const conf: string = find('ConfigMap', 'parley-nats-config').data['nats.conf'];
  const maxFileStore = bytes(/max_file_store: (\S+)/.exec(conf)?.[1] as string);
  const volume = bytes(
    find('StatefulSet', 'parley-nats').spec.volumeClaimTemplates[0].spec.resources.requests.storage,
  );
  const bucket = Number(find('ConfigMap', 'parley-config').data.FILES_BUCKET_MAX_BYTES);
  expect(bucket).toBeGreaterThan(0);
  expect(bucket).toBeLessThan(maxFileStore);
  expect(maxFileStore).toBeLessThan(volume);
});

test('the Secret template: placeholders only, one per secret the services read, each refused by them', () => {
  const reads = {
    gateway: ['ADMIN_TOKEN', 'JWT_SECRET'],
    dialogs: ['MYSQL_URL'],
    notifier: [],
    mailer: ['JWT_SECRET', 'SMTP_URL'],
  };
  const secret = find('Secret', 'parley-secrets');
  const names = Object.keys(secret.stringData).sort();
  expect(names).toEqual(['ADMIN_TOKEN', 'JWT_SECRET', 'MYSQL_URL', 'SMTP_URL']);
  expect(secret.data).toBeUndefined();
  for (const name of names)
    expect({ name, value: secret.stringData[name] }).toEqual({ name, value: 'CHANGE-ME' });
  // applied as it is, every service refuses to start and names each placeholder it got
  for (const service of SERVICES) {
    const spec = ctx.specs[service] as ConfigSpec;
    const mine = names.filter((n) => spec[n]);
    expect({ service, mine }).toEqual({ service, mine: reads[service] });
    const env = { NODE_ENV: 'production', ...Object.fromEntries(mine.map((n) => [n, 'CHANGE-ME'])) };
    let problems: string[] = [];
    try {
      parseConfig(spec, env);
    } catch (err) {
      problems = err instanceof ConfigError ? err.problems : [String(err)];
    }
    expect({ service, refused: mine.filter((n) => !problems.some((p) => p.includes(n))) }).toEqual({
      service,
      refused: [],
    });
  }
});

// ---- the checker catches each mistake ---------------------------------------------------------

// biome-ignore lint/suspicious/noExplicitAny: inline manifests
const ok = (): any => ({
  kind: 'Deployment',
  metadata: { name: 'x' },
  spec: {
    template: {
      spec: {
        containers: [
          {
            name: 'notifier',
            image: 'parley',
            command: ['node', 'services/notifier/dist/main.js'],
            ports: [{ name: 'metrics', containerPort: 9464 }],
            env: [{ name: 'LOG_LEVEL', value: 'info' }],
            readinessProbe: { httpGet: { path: '/readyz', port: 'metrics' } },
            livenessProbe: { httpGet: { path: '/healthz', port: 9464 } },
          },
        ],
      },
    },
  },
});
// biome-ignore lint/suspicious/noExplicitAny: inline manifests
const withContainer = (change: (c: any) => void) => {
  const d = ok();
  change(d.spec.template.spec.containers[0]);
  return workloadProblems(ctx, [d]);
};

test('the checker passes a correct inline manifest', () => {
  expect(workloadProblems(ctx, [ok()])).toEqual([]);
});

test('the checker refuses an unknown variable, and one the service does not declare', () => {
  expect(withContainer((c) => c.env.push({ name: 'NOTIFIER_TURBO', value: '1' }))).toEqual([
    'x/notifier: NOTIFIER_TURBO is not a variable notifier declares',
  ]);
  // PORT is the gateway's: the notifier never reads it
  expect(withContainer((c) => c.env.push({ name: 'PORT', value: '8000' }))).toEqual([
    'x/notifier: PORT is not a variable notifier declares',
  ]);
  const viaConfigMap = ok();
  viaConfigMap.spec.template.spec.containers[0].env = [];
  viaConfigMap.spec.template.spec.containers[0].envFrom = [{ configMapRef: { name: 'cm' } }];
  const cm = { kind: 'ConfigMap', metadata: { name: 'cm' }, data: { LOG_LEVEL: 'info', LOG_LEVLE: 'debug' } };
  expect(workloadProblems(ctx, [viaConfigMap, cm])).toEqual([
    'x/notifier: LOG_LEVLE is not a variable notifier declares',
  ]);
});

test('the checker refuses probes on paths or ports the service does not serve', () => {
  expect(withContainer((c) => (c.readinessProbe.httpGet.path = '/ready'))).toEqual([
    'x/notifier: readinessProbe asks /ready, not /readyz',
    'x/notifier: readinessProbe asks /ready on METRICS_PORT, where notifier serves /healthz, /readyz, /metrics',
  ]);
  expect(withContainer((c) => (c.livenessProbe.httpGet.port = 8000))).toEqual([
    'x/notifier: livenessProbe port 8000 is opened by no port variable of notifier (METRICS_PORT=9464)',
  ]);
  expect(withContainer((c) => c.env.push({ name: 'METRICS_PORT', value: '0' }))).toEqual([
    'x/notifier: readinessProbe port 9464 is opened by no port variable of notifier (METRICS_PORT=0)',
    'x/notifier: livenessProbe port 9464 is opened by no port variable of notifier (METRICS_PORT=0)',
  ]);
  expect(withContainer((c) => delete c.readinessProbe)).toEqual(['x/notifier: no readinessProbe']);
});

test('the checker refuses a command that runs no service', () => {
  expect(withContainer((c) => (c.command = ['node', 'services/pusher/dist/main.js']))).toEqual([
    'x/notifier: command runs services/pusher, which is not a Parley service',
  ]);
  expect(withContainer((c) => (c.command = ['npm', 'start']))).toEqual([
    'x/notifier: command ["npm","start"] is not `node services/<service>/dist/main.js`',
  ]);
});

test('the checker refuses an inlined secret, a missing one, and a secret in a ConfigMap', () => {
  const mailer = (env: unknown[]) =>
    withContainer((c) => {
      c.name = 'mailer';
      c.command = ['node', 'services/mailer/dist/main.js'];
      c.env = env;
    });
  const secret = {
    kind: 'Secret',
    metadata: { name: 's' },
    stringData: { JWT_SECRET: 'CHANGE-ME', SMTP_URL: 'CHANGE-ME' },
  };
  const ref = (name: string) => ({ name, valueFrom: { secretKeyRef: { name: 's', key: name } } });
  const d = ok();
  Object.assign(d.spec.template.spec.containers[0], {
    name: 'mailer',
    command: ['node', 'services/mailer/dist/main.js'],
    env: [ref('JWT_SECRET'), ref('SMTP_URL')],
  });
  expect(workloadProblems(ctx, [d, secret])).toEqual([]);
  expect(mailer([{ name: 'JWT_SECRET', value: 'a-real-looking-secret-of-forty-bytes-long' }])).toEqual([
    'x/mailer: the secret JWT_SECRET is not taken from a Secret',
    'x/mailer: the secret SMTP_URL is not referenced',
  ]);
  const cm = { kind: 'ConfigMap', metadata: { name: 'cm' }, data: { SMTP_URL: 'smtp://u:p@h' } };
  expect(workloadProblems(ctx, [d, secret, cm])).toEqual(['ConfigMap cm holds the secret SMTP_URL']);
});
