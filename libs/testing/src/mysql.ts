/**
 * A fresh MySQL/MariaDB database per suite on the server of MYSQL_URL (else a
 * testcontainers MariaDB). The caller runs the real migrations on it.
 */
import { randomBytes } from 'node:crypto';
import { createConnection } from 'mysql2/promise';
import { loadTestcontainers, noRuntime } from './servers.js';

let server: Promise<string> | undefined;

/** `mysql://user:pass@host:port` of the server tests use (no database part). */
export function mysqlServerUrl(): Promise<string> {
  server ??= (async () => {
    if (process.env.MYSQL_URL) {
      const u = new URL(process.env.MYSQL_URL);
      u.pathname = '';
      return u.toString().replace(/\/$/, '');
    }
    await loadTestcontainers();
    try {
      const { MariaDbContainer } = await import('@testcontainers/mariadb');
      const c = await new MariaDbContainer('mariadb:10.11').withRootPassword('root').start();
      return `mysql://root:root@${c.getHost()}:${c.getPort()}`;
    } catch (err) {
      throw noRuntime(err);
    }
  })();
  return server;
}

export interface TestDatabase {
  name: string;
  /** `mysql://…/<name>`: what MYSQL_URL of a service under test is set to */
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const base = await mysqlServerUrl();
  const name = `parley_t_${randomBytes(5).toString('hex')}`;
  const admin = await createConnection(base);
  try {
    await admin.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: `${base}/${name}`,
    async drop() {
      const c = await createConnection(base);
      try {
        await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      } finally {
        await c.end();
      }
    },
  };
}
