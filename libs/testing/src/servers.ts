/**
 * Where the real servers come from, in order: the env (MYSQL_URL, NATS_URL, as
 * on CI and this workplace's machines), a local binary (nats-server on a
 * random port), testcontainers where a Docker engine exists. Otherwise one clear
 * sentence says what to set.
 */
import { spawnSync } from 'node:child_process';

export const NO_SERVERS_HELP =
  'Parley tests need real servers: set MYSQL_URL (e.g. mysql://root@127.0.0.1:3306) and NATS_URL ' +
  '(e.g. nats://127.0.0.1:4222 with JetStream), or install nats-server, or run a Docker engine for testcontainers.';

export function hasBinary(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** Load testcontainers lazily: only when neither env nor a local server will do. */
export async function loadTestcontainers(): Promise<typeof import('testcontainers')> {
  try {
    return await import('testcontainers');
  } catch {
    throw new Error(NO_SERVERS_HELP);
  }
}

export function noRuntime(err: unknown): Error {
  const msg = err instanceof Error ? err.message : String(err);
  return /container runtime|docker/i.test(msg) ? new Error(NO_SERVERS_HELP) : (err as Error);
}
