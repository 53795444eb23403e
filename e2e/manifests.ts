/**
 * Static checks of the deployment files (deploy/kubernetes/*.yaml, docker-compose.yml's profile
 * `cluster`) against what the code declares and serves: the variables come from each service's
 * config spec, the probe endpoints from the source that serves them, the entry point from the
 * Dockerfile. Pure functions returning problems (one sentence each), so a test can show that a
 * bad manifest is caught as well as that the real ones are clean.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigSpec } from '@parley/config';

export const SERVICES = ['gateway', 'dialogs', 'notifier', 'mailer'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** port variable → the paths served on it, per service */
export type Served = Record<string, Record<string, string[]>>;

export interface Context {
  root: string;
  specs: Record<string, ConfigSpec>;
  served: Served;
  /** the runtime image's ENV (what a container has when the manifest sets nothing) */
  imageEnv: Record<string, string>;
}

// biome-ignore lint/suspicious/noExplicitAny: parsed YAML
type Doc = any;

const tsFiles = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? tsFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );

/**
 * What each service serves, read from its source: the telemetry endpoint's paths
 * (libs/telemetry) on the variable passed to `serveMetrics(registry, config.X…)` (/readyz only
 * with the service's own `ready` test), and the
 * gateway's health routes (`url: '/…'` in http/health.ts) on the variable its server listens on.
 */
export function servedEndpoints(root: string): Served {
  const telemetry = readFileSync(join(root, 'libs/telemetry/src/metrics-endpoint.ts'), 'utf8');
  const telemetryPaths = [...telemetry.matchAll(/path [!=]== '(\/[a-z]+)'/g)].map((m) => m[1] as string);
  const served: Served = {};
  for (const service of SERVICES) {
    const src = join(root, 'services', service, 'src');
    const text = tsFiles(src)
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    const ports: Record<string, string[]> = {};
    // /readyz says something only where the service passes its `ready` test (else it is always 200)
    for (const m of text.matchAll(/serveMetrics\(\s*[\w.]+,\s*config\.([A-Z_]+),\s*\w+(,\s*\{\s*ready\b)?/g))
      ports[m[1] as string] = telemetryPaths.filter((p) => m[2] || p !== '/readyz');
    const health = join(src, 'http/health.ts');
    if (existsSync(health) && text.includes('healthRoutes(')) {
      const paths = [...readFileSync(health, 'utf8').matchAll(/url: '(\/\w+)'/g)].map((m) => m[1] as string);
      for (const m of text.matchAll(/\.listen\(config\.([A-Z_]+)/g)) ports[m[1] as string] = paths;
    }
    served[service] = ports;
  }
  return served;
}

/** `ENV` of the Dockerfile's last stage, `${ARG}` references resolved from its `ARG` defaults */
export function imageEnvOf(dockerfile: string): Record<string, string> {
  const stage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM ')).replace(/\\\n\s*/g, ' ');
  const args: Record<string, string> = {};
  for (const m of stage.matchAll(/^ARG (\w+)=(\S+)$/gm)) args[m[1] as string] = m[2] as string;
  const env: Record<string, string> = {};
  for (const line of stage.match(/^ENV .*$/gm) ?? [])
    for (const m of line.slice(4).matchAll(/(\w+)=(\S+)/g))
      env[m[1] as string] = (m[2] as string).replace(/\$\{(\w+)\}/g, (_, a: string) => args[a] ?? '');
  return env;
}

/** Which service a container command runs, or a problem when it runs none that exists. */
export function serviceOfCommand(ctx: Context, command: string[]): string | { problem: string } {
  const m = /^services\/([a-z]+)\/dist\/main\.js$/.exec(command[1] ?? '');
  const service = m?.[1];
  if (command.length !== 2 || command[0] !== 'node' || !service)
    return { problem: `command ${JSON.stringify(command)} is not \`node services/<service>/dist/main.js\`` };
  const pkg = join(ctx.root, 'services', service, 'package.json');
  if (!ctx.specs[service] || !existsSync(pkg))
    return { problem: `command runs services/${service}, which is not a Parley service` };
  const start = JSON.parse(readFileSync(pkg, 'utf8')).scripts?.start;
  if (start !== 'node dist/main.js')
    return { problem: `services/${service} does not start with dist/main.js` };
  return service;
}

interface EnvSource {
  value?: string;
  configMap?: { name: string; key: string };
  secret?: { name: string; key: string };
}

/** A container's variables, from `env` and `envFrom`, with where each value comes from. */
function containerEnv(container: Doc, configMaps: Map<string, Record<string, string>>, problems: string[]) {
  const env = new Map<string, EnvSource>();
  const add = (name: string, source: EnvSource) => {
    if (env.has(name)) problems.push(`${name} is set twice`);
    env.set(name, source);
  };
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef)
      for (const key of Object.keys(configMaps.get(from.configMapRef.name) ?? {}))
        add(key, { configMap: { name: from.configMapRef.name, key } });
    if (from.secretRef)
      problems.push('envFrom a Secret hides which secrets a service gets: use secretKeyRef');
  }
  for (const e of container.env ?? []) {
    const ref = e.valueFrom ?? {};
    if (ref.configMapKeyRef) add(e.name, { configMap: ref.configMapKeyRef });
    else if (ref.secretKeyRef) add(e.name, { secret: ref.secretKeyRef });
    else add(e.name, { value: String(e.value ?? '') });
  }
  return env;
}

/**
 * Problems of a set of Kubernetes objects (every file under deploy/kubernetes, templates
 * included): each container of the Parley image runs an existing service, gets only variables
 * that service declares, takes each of its secrets from a Secret and nothing else from one, and
 * is probed (ready on /readyz, alive on /healthz) on a port one of its port variables opens.
 */
export function workloadProblems(ctx: Context, docs: Doc[]): string[] {
  const problems: string[] = [];
  const configMaps = new Map<string, Record<string, string>>();
  const secrets = new Map<string, Record<string, string>>();
  for (const d of docs) {
    if (d?.kind === 'ConfigMap') configMaps.set(d.metadata.name, d.data ?? {});
    if (d?.kind === 'Secret') secrets.set(d.metadata.name, { ...d.data, ...d.stringData });
  }
  const secretVars = new Set(
    Object.values(ctx.specs).flatMap((s) =>
      Object.entries(s)
        .filter(([, v]) => v.secret)
        .map(([k]) => k),
    ),
  );
  for (const [name, data] of configMaps)
    for (const key of Object.keys(data))
      if (secretVars.has(key)) problems.push(`ConfigMap ${name} holds the secret ${key}`);
  const used = new Set<string>();
  for (const d of docs) {
    if (d?.kind !== 'Deployment' && d?.kind !== 'StatefulSet') continue;
    for (const c of d.spec?.template?.spec?.containers ?? []) {
      if (String(c.image).split(':')[0] !== 'parley') continue;
      const where = `${d.metadata.name}/${c.name}`;
      const service = serviceOfCommand(ctx, c.command ?? []);
      if (typeof service !== 'string') {
        problems.push(`${where}: ${service.problem}`);
        continue;
      }
      const spec = ctx.specs[service] as ConfigSpec;
      const mine: string[] = [];
      const env = containerEnv(c, configMaps, mine);
      problems.push(...mine.map((p) => `${where}: ${p}`));
      for (const [name, source] of env) {
        if (!spec[name]) problems.push(`${where}: ${name} is not a variable ${service} declares`);
        if (source.configMap) {
          used.add(`${source.configMap.name}/${source.configMap.key}`);
          if (configMaps.get(source.configMap.name)?.[source.configMap.key] === undefined)
            problems.push(
              `${where}: ${name} refers to a missing ConfigMap key ${source.configMap.name}/${source.configMap.key}`,
            );
        }
        if (source.secret && secrets.get(source.secret.name)?.[source.secret.key] === undefined)
          problems.push(
            `${where}: ${name} refers to a missing Secret key ${source.secret.name}/${source.secret.key}`,
          );
        if (spec[name]?.secret && !source.secret)
          problems.push(`${where}: the secret ${name} is not taken from a Secret`);
        if (!spec[name]?.secret && source.secret)
          problems.push(`${where}: ${name} is no secret but comes from a Secret`);
      }
      for (const [name, v] of Object.entries(spec))
        if (v.secret && !env.has(name)) problems.push(`${where}: the secret ${name} is not referenced`);
      const envValue = (name: string): string | undefined => {
        const s = env.get(name);
        if (s?.configMap) return configMaps.get(s.configMap.name)?.[s.configMap.key];
        if (s) return s.value;
        return ctx.imageEnv[name] ?? spec[name]?.default;
      };
      problems.push(...probeProblems(ctx, service, c, envValue).map((p) => `${where}: ${p}`));
    }
  }
  for (const [name, data] of configMaps)
    if (name === 'parley-config')
      for (const key of Object.keys(data))
        if (!used.has(`${name}/${key}`)) problems.push(`ConfigMap ${name}: ${key} is read by no service`);
  return problems;
}

const PROBE_PATHS = {
  readinessProbe: '/readyz',
  livenessProbe: '/healthz',
  startupProbe: undefined,
} as const;

function probeProblems(
  ctx: Context,
  service: string,
  c: Doc,
  envValue: (name: string) => string | undefined,
): string[] {
  const problems: string[] = [];
  const served = ctx.served[service] ?? {};
  for (const [kind, expected] of Object.entries(PROBE_PATHS)) {
    const probe = c[kind];
    if (!probe) {
      if (expected) problems.push(`no ${kind}`);
      continue;
    }
    const path = probe.httpGet?.path;
    if (!path) {
      problems.push(`${kind} is not an HTTP GET`);
      continue;
    }
    if (expected && path !== expected) problems.push(`${kind} asks ${path}, not ${expected}`);
    const port = probe.httpGet.port;
    const number =
      typeof port === 'number' ? port : c.ports?.find((p: Doc) => p.name === port)?.containerPort;
    if (number === undefined) {
      problems.push(`${kind} port ${port} is not a port of the container`);
      continue;
    }
    const vars = Object.keys(served).filter((v) => Number(envValue(v)) === number);
    if (vars.length === 0) {
      const opened = Object.keys(served).map((v) => `${v}=${envValue(v)}`);
      problems.push(
        `${kind} port ${number} is opened by no port variable of ${service} (${opened.join(', ') || 'none'})`,
      );
      continue;
    }
    if (!vars.some((v) => served[v]?.includes(path)))
      problems.push(
        `${kind} asks ${path} on ${vars.join('/')}, where ${service} serves ${vars.flatMap((v) => served[v]).join(', ')}`,
      );
  }
  return problems;
}

/**
 * Problems of compose services (the profile's): each runs an existing service through the image's
 * entry (SERVICE), and every variable it gets beyond the shared x-env block is one that service
 * declares; the x-env block itself holds only declared variables (its values are the operator's).
 */
export function composeProblems(ctx: Context, compose: Doc, names: string[]): string[] {
  const problems: string[] = [];
  const shared = (compose['x-env'] ?? {}) as Record<string, string>;
  const declared = new Set(Object.values(ctx.specs).flatMap((s) => Object.keys(s)));
  for (const name of Object.keys(shared))
    if (!declared.has(name)) problems.push(`x-env: ${name} is declared by no service`);
  for (const name of names) {
    const s = compose.services?.[name];
    if (!s) {
      problems.push(`${name}: no such service`);
      continue;
    }
    const env = (s.environment ?? {}) as Record<string, string>;
    const service = serviceOfCommand(ctx, ['node', `services/${env.SERVICE}/dist/main.js`]);
    if (typeof service !== 'string') {
      problems.push(`${name}: SERVICE=${env.SERVICE}: ${service.problem}`);
      continue;
    }
    const spec = ctx.specs[service] as ConfigSpec;
    for (const [key, value] of Object.entries(env)) {
      if (key === 'SERVICE' || (key in shared && shared[key] === value)) continue;
      if (!spec[key]) problems.push(`${name}: ${key} is not a variable ${service} declares`);
    }
  }
  return problems;
}
