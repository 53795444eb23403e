/**
 * The only place that opens a NATS connection: wait for the first connection as long as it takes
 * (a service started while NATS or a node is down waits, it does not exit), reconnect forever, log
 * status changes.
 */
import type { Logger } from '@parley/logger';
import { connect, type NatsConnection } from 'nats';

export type { NatsConnection } from 'nats';

/**
 * What an app factory is given: the connection, or `connectBus`'s promise of it. A main.ts does not
 * await the promise: the service listens first (its `/readyz` says 503) and its start() waits for
 * the first connection, so a service started while NATS is unreachable is visibly waiting.
 */
export type BusConnection = NatsConnection | Promise<NatsConnection>;

export interface ConnectOptions {
  servers: string[];
  name: string;
  logger: Logger;
  /** how long one connection attempt may take (ms); attempts never stop, before or after the first connection */
  connectTimeoutMs?: number;
}

export async function connectBus(opts: ConnectOptions): Promise<NatsConnection> {
  const nc = await connect({
    servers: opts.servers,
    name: opts.name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    reconnectJitter: 100,
    pingInterval: 10_000,
    timeout: opts.connectTimeoutMs ?? 5_000,
    waitOnFirstConnect: true,
  });
  opts.logger.info({ server: nc.getServer() }, 'nats connected');
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'pingTimer') continue;
      const level = s.type === 'disconnect' || s.type === 'error' ? 'warn' : 'info';
      opts.logger[level]({ status: s.type, data: String(s.data) }, 'nats status');
    }
  })().catch(() => undefined);
  return nc;
}
