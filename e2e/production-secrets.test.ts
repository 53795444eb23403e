/**
 * Production secrets, end to end: every secret value written in the repository's READMEs, docs,
 * docker-compose.yml, Dockerfile, .env.example and deploy/ is on libs/config's published list (so
 * NODE_ENV=production refuses it), and the built gateway and mailer refuse to start in production
 * without strong secrets — one sentence on stderr, a non-zero exit — and start with them.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from '@jest/globals';
import { type ConfigSpec, PUBLISHED_SECRETS } from '@parley/config';
import { natsUrl, randomPrefix } from '@parley/testing';
import { dialogsConfigSpec } from '../services/dialogs/src/config.js';
import { gatewayConfigSpec } from '../services/gateway/src/config.js';
import { spawnGateway } from '../services/gateway/test/gateway-process.js';
import { mailerConfigSpec } from '../services/mailer/src/config.js';
import { notifierConfigSpec } from '../services/notifier/src/config.js';

const root = join(import.meta.dirname, '..');
const specs: ConfigSpec[] = [gatewayConfigSpec, dialogsConfigSpec, notifierConfigSpec, mailerConfigSpec];
const secretNames = [
  ...new Set(
    specs.flatMap((s) =>
      Object.entries(s)
        .filter(([, v]) => v.productionSecret)
        .map(([k]) => k),
    ),
  ),
];

/** The files a person copies configuration from. */
function scannedFiles(): string[] {
  const files = ['README.md', 'docker-compose.yml', 'Dockerfile', '.env.example'];
  for (const dir of ['services', 'libs']) {
    for (const name of readdirSync(join(root, dir))) files.push(join(dir, name, 'README.md'));
  }
  for (const name of readdirSync(join(root, 'docs')))
    if (name.endsWith('.md')) files.push(join('docs', name));
  files.push('deploy/README.md');
  for (const name of readdirSync(join(root, 'deploy/kubernetes')))
    files.push(join('deploy/kubernetes', name));
  return files.filter((f) => existsSync(join(root, f)));
}

/**
 * Values assigned to `name` in a text: `NAME=value`, `NAME: value`, `"NAME": "value"`, and the
 * fallback of `${NAME:-value}` / `${NAME-value}`. Empty values and placeholders (`<…>`, `$(…)`,
 * `${OTHER}`) are not values.
 */
function assignedValues(text: string, name: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(new RegExp(`\\$\\{${name}:?-([^}]*)\\}`, 'g'))) out.push(m[1]!);
  const assign = new RegExp(
    `(?:^|[\\s"'\`{,;])${name}["'\`]?[ \\t]*[:=][ \\t]*("[^"]*"|'[^']*'|[^\\s,;|\`]*)`,
    'gm',
  );
  for (const m of text.matchAll(assign)) {
    const v = m[1]!.replace(/^["']|["']$/g, '');
    if (v.startsWith('${') || v.startsWith('$(') || v.startsWith('<')) continue;
    out.push(v);
  }
  return out.map((v) => v.trim()).filter((v) => v !== '' && v !== '-');
}

describe('secret values written in the repository', () => {
  test('the scan finds every form of assignment (it would notice a new one)', () => {
    const sample = [
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a docker-compose line, not a template
      'JWT_SECRET: ${JWT_SECRET:-compose-fallback}',
      'ADMIN_TOKEN=from-an-env-file',
      'export JWT_SECRET="quoted value"',
      '  "ADMIN_TOKEN": "json-value",',
      'JWT_SECRET=$(openssl rand -base64 48)',
      'JWT_SECRET=<a random value>',
      'ADMIN_TOKEN=',
    ].join('\n');
    expect(
      [...assignedValues(sample, 'JWT_SECRET'), ...assignedValues(sample, 'ADMIN_TOKEN')].sort(),
    ).toEqual(['compose-fallback', 'from-an-env-file', 'json-value', 'quoted value'].sort());
  });

  test('are all on the published list that production refuses', () => {
    expect(secretNames.sort()).toEqual(['ADMIN_TOKEN', 'JWT_SECRET']);
    const missing: string[] = [];
    for (const file of scannedFiles()) {
      const text = readFileSync(join(root, file), 'utf8');
      for (const name of secretNames) {
        for (const v of assignedValues(text, name)) {
          if (!PUBLISHED_SECRETS.includes(v)) missing.push(`${file}: ${name}=${v}`);
        }
      }
    }
    expect({ missing, hint: 'add these values to PUBLISHED_SECRETS in libs/config/src/secrets.ts' }).toEqual({
      missing: [],
      hint: 'add these values to PUBLISHED_SECRETS in libs/config/src/secrets.ts',
    });
  });
});

describe('a service started with NODE_ENV=production', () => {
  beforeAll(() => {
    const build = spawnSync(
      process.execPath,
      [join(root, 'node_modules/typescript/bin/tsc'), '-b', 'services/gateway', 'services/mailer'],
      { cwd: root, encoding: 'utf8' },
    );
    if (build.status !== 0) throw new Error(`build failed:\n${build.stdout}${build.stderr}`);
  }, 180_000);

  const STRONG_JWT = 'e2e-jwt-N5vQ8sK2pX7mR4tW9yB3cF6hJ1lZ0aD';
  const STRONG_ADMIN = 'e2e-admin-G7kP2wQ9xR4mT8vY3bN6cH1jL5sF0';

  async function start(service: 'gateway' | 'mailer', env: Record<string, string>) {
    const child = spawn(process.execPath, [join(root, `services/${service}/dist/main.js`)], {
      cwd: root,
      env: { PATH: process.env.PATH, NODE_ENV: 'production', NATS_URL: await natsUrl(), ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    return { code, stderr };
  }

  test.each([
    [
      'gateway without JWT_SECRET',
      'gateway',
      { ADMIN_TOKEN: STRONG_ADMIN },
      /^ {2}- JWT_SECRET is required when NODE_ENV=production: set it to a random value of at least 32 bytes/m,
    ],
    [
      'gateway without ADMIN_TOKEN',
      'gateway',
      { JWT_SECRET: STRONG_JWT },
      /^ {2}- ADMIN_TOKEN is required when NODE_ENV=production/m,
    ],
    [
      'gateway with docker-compose’s JWT_SECRET',
      'gateway',
      { JWT_SECRET: 'change-me-in-production', ADMIN_TOKEN: STRONG_ADMIN },
      /^ {2}- JWT_SECRET is a value published in the Parley repository/m,
    ],
    [
      'gateway with the development default',
      'gateway',
      { JWT_SECRET: 'parley-development-secret-do-not-use-in-production', ADMIN_TOKEN: STRONG_ADMIN },
      /^ {2}- JWT_SECRET is a value published in the Parley repository/m,
    ],
    [
      'gateway with a short ADMIN_TOKEN',
      'gateway',
      { JWT_SECRET: STRONG_JWT, ADMIN_TOKEN: 'only-twenty-chars-xx' },
      /^ {2}- ADMIN_TOKEN is shorter than 32 bytes/m,
    ],
    ['mailer without JWT_SECRET', 'mailer', {}, /^ {2}- JWT_SECRET is required when NODE_ENV=production/m],
  ] as const)(
    '%s: refuses, one sentence, non-zero exit',
    async (_name, service, env, sentence) => {
      const { code, stderr } = await start(service, env);
      expect(code).toBe(78);
      expect(stderr).toMatch(sentence);
      // one problem, one line; no secret value echoed
      expect(stderr.trim().split('\n')).toHaveLength(2);
      for (const v of Object.values(env)) expect(stderr).not.toContain(v);
    },
    60_000,
  );

  test('the gateway with strong secrets starts', async () => {
    const gw = await spawnGateway(randomPrefix(), {
      NODE_ENV: 'production',
      JWT_SECRET: STRONG_JWT,
      ADMIN_TOKEN: STRONG_ADMIN,
    });
    try {
      expect(gw.alive()).toBe(true);
      expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    } finally {
      await gw.stop();
    }
  }, 60_000);
});
