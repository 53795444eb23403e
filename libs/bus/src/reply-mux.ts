/**
 * One wildcard subscription per connection for every reply it waits for (PubAcks, RPC answers): a
 * message is published with the reply subject `<inbox>.<n>` and its answer is matched back by `n`.
 * `nc.request` would make a request object per message instead, with its own timer and an error
 * object with a captured stack (the gateway's and the outbox relay's profiles showed them on every
 * message). The server answers a publish that nobody subscribes to with a 503 status on the reply
 * subject, as it does for `nc.request`.
 */
import { createInbox, type Msg, type NatsConnection } from 'nats';

export interface ReplyMux {
  readonly inbox: string;
  /** a fresh reply token; `settle` gets the answer (once; nothing after `forget`) */
  expect(settle: (m: Msg) => void): number;
  /** stop waiting for `n` (timed out) */
  forget(n: number): void;
  /** the reply subject of `n` */
  subject(n: number): string;
}

const muxes = new WeakMap<NatsConnection, ReplyMux>();

/** the connection's reply mux (its subscription is made on first use and lives with the connection) */
export function replyMux(nc: NatsConnection): ReplyMux {
  const known = muxes.get(nc);
  if (known) return known;
  const inbox = createInbox();
  const pending = new Map<number, (m: Msg) => void>();
  let next = 0;
  nc.subscribe(`${inbox}.*`, {
    callback: (err, msg) => {
      if (err) return;
      const n = Number(msg.subject.slice(inbox.length + 1));
      const settle = pending.get(n);
      if (!settle) return; // timed out already
      pending.delete(n);
      settle(msg);
    },
  });
  const mux: ReplyMux = {
    inbox,
    expect(settle) {
      const n = next++;
      pending.set(n, settle);
      return n;
    },
    forget: (n) => {
      pending.delete(n);
    },
    subject: (n) => `${inbox}.${n}`,
  };
  muxes.set(nc, mux);
  return mux;
}
