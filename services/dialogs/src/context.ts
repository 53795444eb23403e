/** What every handler and write flow of the dialogs service gets: the database, config and a few services. */
import type { DataSource } from 'typeorm';
import type { DialogsConfig } from './config.js';
import type { GroupCommit } from './db/group-commit.js';
import type { Sql } from './db/sql.js';
import type { DialogTurns } from './dialog-turns.js';

export interface Presence {
  isOnline(userId: number): boolean;
}

export interface DialogsContext {
  ds: DataSource;
  /** pool-level SQL for reads outside a transaction */
  sql: Sql;
  config: DialogsConfig;
  presence: Presence | undefined;
  /** the `seen` writes of one dialog, at most two at a time in this process (dialog-turns.ts) */
  turns: DialogTurns;
  /** message creates: those that arrive together share one transaction; a dialog's queue here, in order (group-commit.ts) */
  writes: GroupCommit;
  /** call after a commit that wrote outbox events */
  outboxWritten(): void;
  /** call after a commit that set a user inactive: every gateway closes that user's sockets */
  userDeactivated?(userId: number): void;
}
