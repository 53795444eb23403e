/** The mailer's Prometheus metrics, on its own registry. */
import { Counter, Registry } from 'prom-client';

export function createMailerMetrics() {
  const registry = new Registry();
  return {
    registry,
    events: new Counter({
      name: 'parley_mailer_events_total',
      help: 'domain events handled, by type',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
    redeliveries: new Counter({
      name: 'parley_mailer_redeliveries_total',
      help: 'events delivered more than once (retries, events of a crashed instance, MAIL_DELAY_SECONDS and hourly-cap waits)',
      registers: [registry],
    }),
    emails: new Counter({
      name: 'parley_mailer_emails_total',
      help: 'e-mails by outcome: sent, failed (will be retried), skipped (read within the delay), folded (over the hourly cap: goes in a later digest)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    reminders: new Counter({
      name: 'parley_mailer_reminders_total',
      help: 'daily reminder e-mails (PROTOCOL.md §9) by outcome: sent, failed (retried at the next check)',
      labelNames: ['result'] as const,
      registers: [registry],
    }),
    reminderChecks: new Counter({
      name: 'parley_mailer_reminder_checks_total',
      help: 'completed looks for reviewers due for the daily reminder',
      registers: [registry],
    }),
  };
}

export type MailerMetrics = ReturnType<typeof createMailerMetrics>;
