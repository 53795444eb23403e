/**
 * Process mode: the four BUILT services (`<servicesDir>/<name>/dist/main.js`) as child processes against
 * a given MySQL/MariaDB and NATS, on a fresh database and a random subject prefix, with an in-process
 * SMTP sink behind `mail.messages()`. Fast (no images), and what CI uses.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { freePort, type SinkMessage, startSmtpSink } from '@parley/testing';
import { createConnection } from 'mysql2/promise';
import { startedParley } from './admin.js';
import { dropPrefix, waitReady } from './ready.js';
import type { ParleyMail, StartedParley, StartParleyOptions } from './types.js';

const SERVICES = ['dialogs', 'gateway', 'notifier', 'mailer'] as const;
type Service = (typeof SERVICES)[number];
const STOP_GRACE_MS = 10_000;
const OUTPUT_LINES = 40;

/** where the built services are: next to the @parley/gateway package (a workspace or node_modules) */
export function defaultServicesDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(dirname(require.resolve('@parley/gateway/package.json')));
}

export function missingBuild(servicesDir: string): string[] {
  return SERVICES.map((s) => join(servicesDir, s, 'dist', 'main.js')).filter((f) => !existsSync(f));
}

interface Child {
  name: Service;
  proc: ChildProcess;
  output: string[];
  exited: Promise<void>;
}

export async function startProcesses(
  opts: StartParleyOptions & { mysqlUrl: string; natsUrl: string },
): Promise<StartedParley> {
  const servicesDir = opts.servicesDir ?? defaultServicesDir();
  const missing = missingBuild(servicesDir);
  if (missing.length)
    throw new Error(`Parley is not built (run npm run build): missing ${missing.join(', ')}`);

  const cleanup: Array<() => Promise<unknown>> = [];
  const stop = async () => {
    const errors: string[] = [];
    for (const step of cleanup.splice(0).reverse()) {
      await step().catch((err: Error) => errors.push(err.message));
    }
    if (errors.length) throw new Error(`stopping Parley: ${errors.join('; ')}`);
  };
  try {
    const prefix = `tc${randomBytes(5).toString('hex')}`;
    const server = serverUrl(opts.mysqlUrl);
    const database = `parley_tc_${randomBytes(5).toString('hex')}`;
    await sql(server, `CREATE DATABASE \`${database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    cleanup.push(() => sql(server, `DROP DATABASE IF EXISTS \`${database}\``));
    cleanup.push(() => dropPrefix(opts.natsUrl, prefix));
    const sink = await startSmtpSink();
    cleanup.push(() => sink.stop());

    const port = await freePort();
    const httpUrl = `http://127.0.0.1:${port}`;
    const jwtSecret = randomBytes(24).toString('hex');
    const adminToken = randomBytes(24).toString('hex');
    const env: Record<string, string> = {
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      NATS_URL: opts.natsUrl,
      SUBJECT_PREFIX: prefix,
      // max_bytes is reserved on the server: a test instance keeps its files bucket small
      FILES_BUCKET_MAX_BYTES: String(64 * 1024 * 1024),
      MYSQL_URL: `${server}/${database}`,
      JWT_SECRET: jwtSecret,
      ADMIN_TOKEN: adminToken,
      PORT: String(port),
      PUBLIC_URL: httpUrl,
      APP_URL: httpUrl,
      SMTP_URL: sink.url,
      ...opts.env,
    };
    const children: Child[] = [];
    for (const name of SERVICES) {
      const child = spawnService(servicesDir, name, env);
      children.push(child);
      cleanup.push(() => stopChild(child));
    }
    const alive = () => {
      const dead = children.find((c) => c.proc.exitCode !== null || c.proc.signalCode !== null);
      if (dead) {
        throw new Error(`the ${dead.name} service exited during start:\n${dead.output.join('\n')}`);
      }
    };
    await waitReady({
      httpUrl,
      natsUrl: opts.natsUrl,
      prefix,
      timeoutMs: opts.startTimeoutMs ?? 60_000,
      alive,
    });

    return startedParley({
      mode: 'process',
      wsUrl: `ws://127.0.0.1:${port}/ws/`,
      httpUrl,
      prefix,
      adminToken,
      jwtSecret,
      messages: async () => sink.messages.map(fromSink),
      stop,
    });
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

function spawnService(dir: string, name: Service, env: Record<string, string>): Child {
  const proc = spawn(process.execPath, ['--enable-source-maps', join(dir, name, 'dist', 'main.js')], {
    cwd: join(dir, name),
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // a test process that dies without stopping Parley must not leave services behind
  const killOnExit = () => proc.kill('SIGKILL');
  process.once('exit', killOnExit);
  const output: string[] = [];
  const keep = (data: Buffer) => {
    output.push(...data.toString('utf8').split('\n').filter(Boolean));
    output.splice(0, Math.max(0, output.length - OUTPUT_LINES));
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) =>
    proc.once('exit', () => {
      process.removeListener('exit', killOnExit);
      resolve();
    }),
  );
  return { name, proc, output, exited };
}

/** SIGTERM (the services drain), SIGKILL after the grace */
async function stopChild(child: Child): Promise<void> {
  if (child.proc.exitCode !== null || child.proc.signalCode !== null) return;
  child.proc.kill('SIGTERM');
  const timer = setTimeout(() => child.proc.kill('SIGKILL'), STOP_GRACE_MS);
  await child.exited;
  clearTimeout(timer);
}

/** `mysql://user:pass@host:port` without a database part */
function serverUrl(url: string): string {
  const u = new URL(url);
  u.pathname = '';
  u.search = '';
  return u.toString().replace(/\/$/, '');
}

async function sql(server: string, statement: string): Promise<void> {
  const c = await createConnection(server);
  try {
    await c.query(statement);
  } finally {
    await c.end();
  }
}

function fromSink(m: SinkMessage): ParleyMail {
  const headers: Record<string, string> = {};
  for (const { key, line } of m.parsed.headerLines) headers[key] = line.slice(line.indexOf(':') + 1).trim();
  return {
    from: m.envelope.from,
    to: m.envelope.to,
    subject: m.parsed.subject ?? '',
    text: m.parsed.text ?? '',
    html: typeof m.parsed.html === 'string' ? m.parsed.html : '',
    headers,
  };
}
