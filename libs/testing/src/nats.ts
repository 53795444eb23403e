/** NATS for tests: the shared server from NATS_URL, or a private nats-server of our own. */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasBinary, loadTestcontainers, NO_SERVERS_HELP, noRuntime } from './servers.js';
import { sleep } from './wait-for.js';

/**
 * A subject prefix no other suite uses. Under `npm test` it starts with the
 * run's id (PARLEY_TEST_RUN), so the run's global teardown can delete every
 * stream, KV and object bucket the run's suites left on the shared server.
 */
export function randomPrefix(): string {
  return `t${process.env.PARLEY_TEST_RUN ?? ''}${randomBytes(5).toString('hex')}`;
}

let shared: Promise<string> | undefined;

/** URL of a NATS server with JetStream for this test run. */
export function natsUrl(): Promise<string> {
  shared ??= (async () => {
    if (process.env.NATS_URL) return process.env.NATS_URL;
    if (hasBinary('nats-server')) return (await startNatsServer()).url;
    const tc = await loadTestcontainers();
    try {
      const { NatsContainer } = await import('@testcontainers/nats');
      const c = await new NatsContainer('nats:2.10').withArg('-js', '').start();
      void tc;
      return c.getConnectionOptions().servers as string;
    } catch (err) {
      throw noRuntime(err);
    }
  })();
  return shared;
}

export interface PrivateNats {
  url: string;
  port: number;
  /** SIGKILL: an outage */
  kill(): Promise<void>;
  /** start again on the same port and store directory */
  restart(): Promise<void>;
  /** stop and delete the store */
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * A nats-server of this test's own (outage and restart tests must not disturb the shared one), with
 * JetStream in a temporary store. `port`: where to listen (a service already trying to reach it);
 * default a free one.
 */
export async function startNatsServer(opts: { port?: number } = {}): Promise<PrivateNats> {
  if (!hasBinary('nats-server')) throw new Error(NO_SERVERS_HELP);
  const port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'parley-nats-'));
  let proc: ChildProcess | undefined;
  const launch = async () => {
    proc = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], {
      stdio: 'ignore',
    });
    // a test process that exits without reaching its cleanup must not leave the server behind
    const child = proc;
    const orphan = () => child.kill('SIGKILL');
    process.once('exit', orphan);
    child.once('exit', () => process.off('exit', orphan));
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (await canConnect(port)) return;
      await sleep(30);
    }
    throw new Error('nats-server did not start');
  };
  const kill = async () => {
    const p = proc;
    if (!p || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  };
  await launch();
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    kill,
    restart: launch,
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function canConnect(port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
