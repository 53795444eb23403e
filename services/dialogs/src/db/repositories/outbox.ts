/** SQL of `outbox`: events are appended inside the transaction of the change they describe. */
import type { DomainEvent } from '@parley/protocol';
import type { Sql } from '../sql.js';

export async function appendEvent(sql: Sql, event: DomainEvent, now: string): Promise<void> {
  await sql.exec('INSERT INTO outbox (event_id, event_type, payload, date_created) VALUES (?, ?, ?, ?)', [
    event.id,
    event.type,
    JSON.stringify(event),
    now,
  ]);
}
