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
  /** for a failing test: whether the server process runs (or how it ended) and its last log lines */
  describe?(): string;
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
  // a free port may be taken by another suite's server before ours binds it; then ours exits and the
  // port still answers — someone else's server, killed with that suite. The server's own name in its
  // INFO line tells them apart, and a fresh port is tried.
  const name = `parley-test-${randomBytes(6).toString('hex')}`;
  let port = opts.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'parley-nats-'));
  let proc: ChildProcess | undefined;
  let log = '';
  let started = false;
  const launchOnce = async (): Promise<boolean> => {
    const child = spawn(
      'nats-server',
      ['-a', '127.0.0.1', '-p', String(port), '-n', name, '-js', '-sd', dir],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    proc = child;
    // nats-server logs to stderr: its last lines say why it ended, if it did
    child.stderr?.on('data', (d: Buffer) => {
      log = (log + d.toString('utf8')).slice(-4_000);
    });
    // a test process that exits without reaching its cleanup must not leave the server behind
    const orphan = () => child.kill('SIGKILL');
    process.once('exit', orphan);
    child.once('exit', () => process.off('exit', orphan));
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null || child.signalCode !== null) return false;
      const found = await serverNameAt(port);
      if (found === name) return true;
      await sleep(30);
    }
    child.kill('SIGKILL');
    return false;
  };
  const launch = async () => {
    // the first start may move to another free port; a restart keeps its port (clients reconnect to it)
    const movable = opts.port === undefined && !started;
    for (let attempt = 0; attempt < (movable ? 5 : 1); attempt++) {
      if (attempt > 0) port = await freePort();
      if (await launchOnce()) return;
    }
    throw new Error(`nats-server did not start on port ${port} (taken by another process?)`);
  };
  const kill = async () => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await exited;
  };
  await launch();
  started = true;
  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    kill,
    restart: launch,
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
    describe() {
      const p = proc;
      const state =
        p && p.exitCode === null && p.signalCode === null
          ? `pid ${p.pid} running`
          : `ended (code ${p?.exitCode}, signal ${p?.signalCode})`;
      return `nats-server ${name} on ${port}: ${state}; last lines:\n${log.split('\n').slice(-8).join('\n')}`;
    },
  };
}

/** the `server_name` of the NATS server answering on `port` (its INFO line), or null */
async function serverNameAt(port: number): Promise<string | null> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    let buf = '';
    const done = (v: string | null) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(2_000, () => done(null));
    s.on('data', (d) => {
      buf += d.toString('utf8');
      const line = buf.indexOf('\r\n');
      if (line < 0) return;
      const m = /^INFO\s+(\{.*\})/.exec(buf.slice(0, line));
      try {
        done(m ? ((JSON.parse(m[1] as string) as { server_name?: string }).server_name ?? null) : null);
      } catch {
        done(null);
      }
    });
    s.once('error', () => done(null));
  });
}
