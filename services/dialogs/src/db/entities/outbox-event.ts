import { EntitySchema } from 'typeorm';

/** A row of `outbox`: a domain event written in the transaction of its change, deleted once published. */
export interface OutboxRow {
  id: number;
  event_id: string;
  event_type: string;
  /** the DomainEvent as JSON */
  payload: string;
  date_created: string;
}

export const OutboxEntity = new EntitySchema<OutboxRow>({
  name: 'OutboxEvent',
  tableName: 'outbox',
  columns: {
    id: { type: 'bigint', unsigned: true, primary: true, generated: 'increment' },
    event_id: { type: 'char', length: 36 },
    event_type: { type: 'varchar', length: 32 },
    payload: { type: 'longtext' },
    date_created: { type: 'datetime', precision: 6 },
  },
});
