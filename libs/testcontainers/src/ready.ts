/**
 * When a started Parley is ready for a test: the gateway answers /readyz (NATS connected, dialogs
 * answering), the notifiers consume every user partition and the mailer its durable consumer, so no
 * message created from now on goes unpushed or unmailed.
 */
import { connectBus } from '@parley/bus';
import { silentLogger } from '@parley/logger';
import { NOTIFY_PARTITIONS, subjects } from '@parley/protocol';
import { until } from './admin.js';

export async function waitReady(opts: {
  httpUrl: string;
  natsUrl: string;
  prefix: string;
  timeoutMs: number;
  /** throws when a service already died (its output in the message) */
  alive?: () => void;
}): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  const left = () => Math.max(1000, deadline - Date.now());
  await until(
    async () => {
      opts.alive?.();
      const res = await fetch(`${opts.httpUrl}/readyz`);
      await res.arrayBuffer();
      return res.ok;
    },
    left(),
    'the gateway /readyz',
  );
  const nc = await connectBus({
    servers: [opts.natsUrl],
    name: 'parley-testcontainers',
    logger: silentLogger(),
  });
  try {
    const s = subjects(opts.prefix);
    const jsm = await nc.jetstreamManager();
    // the notifiers consume every user partition; the mailer its durable on the mail stream
    const consumers = [
      ...Array.from({ length: NOTIFY_PARTITIONS }, (_, p) => ({
        stream: s.notifyStream,
        durable: s.notifyDurable(p),
        what: `the notifier consumer of partition ${p}`,
      })),
      { stream: s.mailStream, durable: s.mailDurable, what: 'the mailer consumer' },
    ];
    for (const c of consumers) {
      await until(
        async () => {
          opts.alive?.();
          await jsm.consumers.info(c.stream, c.durable);
          return true;
        },
        left(),
        c.what,
      );
    }
  } finally {
    await nc.close();
  }
}

/** Delete every stream, KV and object bucket under `prefix` (a shared NATS stays clean). */
export async function dropPrefix(natsUrl: string, prefix: string): Promise<void> {
  const nc = await connectBus({ servers: [natsUrl], name: 'parley-testcontainers', logger: silentLogger() });
  try {
    const token = prefix.replace(/\./g, '_');
    const jsm = await nc.jetstreamManager();
    const mine: string[] = [];
    for await (const info of jsm.streams.list()) {
      const name = info.config.name;
      if (
        name.startsWith(`${token}_`) ||
        name.startsWith(`KV_${token}_`) ||
        name.startsWith(`OBJ_${token}_`)
      ) {
        mine.push(name);
      }
    }
    for (const name of mine) await jsm.streams.delete(name).catch(() => undefined);
  } finally {
    await nc.close();
  }
}
