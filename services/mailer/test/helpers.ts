/** Shared pieces of the mailer suites: events as dialogs writes them, a mailer per test, quiescence. */
import { connectBus, type NatsConnection } from '@parley/bus';
import { parseConfig } from '@parley/config';
import { silentLogger } from '@parley/logger';
import type {
  MessageCreatedEvent,
  MessageDto,
  MessageSeenEvent,
  Recipient,
  Subjects,
} from '@parley/protocol';
import { createdEvent, natsUrl, seenEvent, waitFor } from '@parley/testing';
import { createMailerService, type MailerService } from '../src/app.js';
import { mailerConfigSpec } from '../src/config.js';

export const logger = silentLogger();

export { message, recipient, user } from '@parley/testing';

export function created(msg: MessageDto, recipients: Recipient[]): MessageCreatedEvent {
  return createdEvent(msg, { recipients });
}

export function seen(msg: MessageDto, reader: number): MessageSeenEvent {
  return seenEvent(msg, reader);
}

export interface MailerOptions {
  backoffMs?: number[];
  /** the hourly cap's window, shortened */
  rateWindowMs?: number;
}

export interface Mailers {
  start(env: Record<string, string>, opts?: MailerOptions): Promise<MailerService>;
  /** a graceful stop of one instance (drains its consumer), as SIGTERM does */
  stop(app: MailerService): Promise<void>;
  stopAll(): Promise<void>;
}

export function mailers(prefix: string): Mailers {
  const started: Array<{ app: MailerService; nc: NatsConnection }> = [];
  return {
    async start(env, opts = {}) {
      const nc = await connectBus({ servers: [await natsUrl()], name: 'mailer-test', logger });
      const { config } = parseConfig(mailerConfigSpec, {
        NATS_URL: await natsUrl(),
        SUBJECT_PREFIX: prefix,
        ...env,
      });
      const app = createMailerService({
        config,
        nc,
        logger,
        backoffMs: opts.backoffMs ?? [200, 500, 1_000],
        ...(opts.rateWindowMs ? { rateWindowMs: opts.rateWindowMs } : {}),
      });
      await app.start();
      started.push({ app, nc });
      return app;
    },
    async stop(app) {
      const i = started.findIndex((x) => x.app === app);
      const [one] = started.splice(i, 1);
      if (!one) return;
      await one.app.stop();
      await one.nc.close();
    },
    async stopAll() {
      for (const { app, nc } of started.splice(0)) {
        await app.stop().catch(() => undefined);
        await nc.close().catch(() => undefined);
      }
    },
  };
}

/** Every event the mailer's durable consumer got is acked and nothing waits: what it will send, it has sent. */
export async function drained(nc: NatsConnection, s: Subjects, timeoutMs = 15_000): Promise<void> {
  const jsm = await nc.jetstreamManager();
  await waitFor(
    async () => {
      const info = await jsm.consumers.info(s.mailStream, s.mailDurable);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    },
    { timeoutMs, intervalMs: 100, what: 'the mailer consumer to drain' },
  );
}

export async function dropAll(nc: NatsConnection, s: Subjects): Promise<void> {
  const jsm = await nc.jetstreamManager();
  for (const name of [s.eventStream, s.notifyStream, s.mailStream, `KV_${s.mailBucket}`])
    await jsm.streams.delete(name).catch(() => undefined);
}
