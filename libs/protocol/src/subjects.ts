/**
 * Every NATS subject, stream, bucket and queue-group name, computed from one
 * configurable prefix (SUBJECT_PREFIX). Nothing else writes a subject string.
 */
import type { DomainEventType } from './domain-events.js';
import type { RpcCommand } from './rpc.js';

export type ServiceName = 'gateway' | 'dialogs' | 'notifier' | 'mailer';

export function subjects(prefix: string) {
  if (!/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/.test(prefix)) {
    throw new Error(`invalid subject prefix: ${JSON.stringify(prefix)}`);
  }
  const token = prefix.replace(/\./g, '_');
  return {
    prefix,
    /** request/reply served by `dialogs` */
    rpc: (command: RpcCommand) => `${prefix}.rpc.${command}`,
    rpcWildcard: `${prefix}.rpc.>`,
    /** queue group shared by all instances of a service */
    queue: (service: ServiceName) => `${prefix}.${service}`,
    /** domain events on the JetStream stream */
    event: (type: DomainEventType) => `${prefix}.evt.${type}`,
    eventWildcard: `${prefix}.evt.>`,
    eventStream: `${token}_events`,
    /**
     * the notifier's copy of a domain event, one per notifier partition its members fall in
     * (`notifyPartition`): each partition is consumed in order by the one notifier instance leasing it
     */
    notify: (partition: number) => `${prefix}.ntf.${partition}`,
    notifyWildcard: `${prefix}.ntf.*`,
    notifyStream: `${token}_notify`,
    /** the durable consumer of one notifier partition */
    notifyDurable: (partition: number) => `${token}_notifier_p${partition}`,
    /**
     * the mailer's copy of a domain event that can lead to an e-mail or cancel a held one
     * (`mailerNeeds`): a work queue, so the mailer receives only what it mails
     */
    mail: `${prefix}.mail`,
    mailStream: `${token}_mail_in`,
    /** the mailer's durable consumer of `mailStream` (shared by its instances) */
    mailDurable: `${token}_mailer`,
    /** durable consumer of the event stream for one service (shared by its instances) */
    durable: (service: ServiceName) => `${token}_${service}`,
    /** poison events a consumer gave up on */
    deadLetter: (service: ServiceName) => `${prefix}.dlq.${service}`,
    /** pushes to every socket of one user, on every gateway that holds one */
    push: (userId: number) => `${prefix}.push.user.${userId}`,
    pushWildcard: `${prefix}.push.user.*`,
    /** every feed push of one user, stored in `feedStream` and republished to `push(userId)` */
    feed: (userId: number) => `${prefix}.feed.user.${userId}`,
    feedWildcard: `${prefix}.feed.user.*`,
    /** where the feed stream republishes: the push subject, `*` mapped through */
    feedRepublish: `${prefix}.push.user.{{wildcard(1)}}`,
    feedStream: `${token}_feed`,
    /** a user was deactivated: every gateway closes that user's sockets (core NATS, no queue group) */
    userDeactivated: `${prefix}.user.deactivated`,
    /** presence: a user's first/last socket on any gateway */
    presenceBucket: `${token}_presence`,
    /** uploaded files, readable by every gateway instance */
    filesBucket: `${token}_files`,
    /** mailer's pending and sent e-mails */
    mailBucket: `${token}_mail`,
    /** a single-holder lease among the instances of a service (e.g. the active notifier) */
    leaseBucket: (service: ServiceName) => `${token}_lease_${service}`,
  } as const;
}

export type Subjects = ReturnType<typeof subjects>;

/** Every concrete name `subjects(prefix)` can produce, for the uniqueness test and docs. */
export function allSubjectNames(
  s: Subjects,
  commands: readonly RpcCommand[],
  events: readonly DomainEventType[],
) {
  const services: ServiceName[] = ['gateway', 'dialogs', 'notifier', 'mailer'];
  return [
    ...commands.map((c) => s.rpc(c)),
    ...services.map((x) => s.queue(x)),
    ...events.map((e) => s.event(e)),
    ...services.map((x) => s.deadLetter(x)),
    s.notify(0),
    s.mail,
    s.push(1),
    s.feed(1),
    s.userDeactivated,
  ];
}
