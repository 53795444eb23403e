/**
 * Presence wiring of one gateway: the writer keeps `p.<userId>.<gatewayId>` keys while this gateway
 * holds sockets of a user; the view (shared design in libs/bus presence.ts) reports online/offline
 * transitions across all gateways; the gateway that wins the transition's claim pushes
 * `users.status.online` to every contact of the user (ids from `users.contacts`).
 */
import {
  createPresenceView,
  createPresenceWriter,
  type NatsConnection,
  type PresenceChange,
  publishPush,
  type RpcClient,
} from '@parley/bus';
import type { Logger } from '@parley/logger';
import type { Subjects } from '@parley/protocol';

export interface PresenceDeps {
  nc: NatsConnection;
  subjects: Subjects;
  rpc: RpcClient;
  logger: Logger;
  gatewayId: string;
  ttlMs: number;
  /** replicas of the presence bucket (NATS_REPLICAS) */
  replicas?: number;
  refreshMs: number;
  relistMs: number;
}

export interface GatewayPresence {
  start(): Promise<void>;
  /** this gateway now holds / no longer holds sockets of the user (resolves once written) */
  set(userId: number, present: boolean): Promise<void>;
  isOnline(userId: number): boolean;
  /** delete this gateway's keys, stop watching */
  stop(): Promise<void>;
}

/** how long stop() waits for key deletes and pending announcements (NATS may be slow or down) */
const STOP_GRACE_MS = 2_000;

/** true when `p` settled within `ms` */
async function within(ms: number, p: Promise<unknown>): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      p.then(
        () => true as const,
        () => true as const,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export function createGatewayPresence(deps: PresenceDeps): GatewayPresence {
  const { nc, subjects, logger } = deps;
  const writer = createPresenceWriter(nc, subjects, {
    gatewayId: deps.gatewayId,
    logger,
    ttlMs: deps.ttlMs,
    refreshMs: deps.refreshMs,
    replicas: deps.replicas,
  });
  const view = createPresenceView(nc, subjects, {
    logger,
    ttlMs: deps.ttlMs,
    relistMs: deps.relistMs,
    replicas: deps.replicas,
  });
  /** announcements of one user go out in the order of their transitions */
  const chains = new Map<number, Promise<void>>();

  const announce = async (change: PresenceChange) => {
    if (!(await view.claim(change))) return;
    const { data: contacts } = await deps.rpc.request('users.contacts', { user_id: change.user_id });
    const item = {
      event: 'users.status.online' as const,
      data: { user_id: change.user_id, status_online: change.online },
    };
    for (const contact of contacts) publishPush(nc, subjects, contact, { items: [item] });
    logger.debug(
      { user_id: change.user_id, online: change.online, contacts: contacts.length },
      'presence pushed',
    );
  };

  view.onChange((change) => {
    const prev = chains.get(change.user_id) ?? Promise.resolve();
    const next = prev
      .then(() => announce(change))
      .catch((err: unknown) => logger.warn({ err, user_id: change.user_id }, 'presence announcement failed'));
    chains.set(change.user_id, next);
    void next.finally(() => {
      if (chains.get(change.user_id) === next) chains.delete(change.user_id);
    });
  });

  return {
    async start() {
      await writer.start();
      await view.start();
    },
    set: (userId, present) => writer.set(userId, present),
    isOnline: (userId) => view.isOnline(userId),
    async stop() {
      // a shutdown never waits long on presence: keys this gateway could not delete expire after the TTL
      const cleaned = await within(STOP_GRACE_MS, writer.stop());
      await view.stop();
      const announced = await within(STOP_GRACE_MS, Promise.all([...chains.values()]));
      if (!cleaned || !announced) {
        logger.warn(
          { cleaned, announced },
          'presence cleanup unfinished at shutdown: keys expire after the TTL',
        );
      }
    },
  };
}
