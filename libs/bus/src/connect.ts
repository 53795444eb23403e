/** The only place that opens a NATS connection: reconnect forever, log status changes. */
import type { Logger } from '@parley/logger';
import { connect, type NatsConnection } from 'nats';

export type { NatsConnection } from 'nats';

export interface ConnectOptions {
  servers: string[];
  name: string;
  logger: Logger;
  /** give up on the first connection after this long (ms); reconnects afterwards never give up */
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
