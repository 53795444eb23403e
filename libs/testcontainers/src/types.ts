/** What startParley() takes and gives, whichever mode runs it. */
import type { DialogDto, UserRecordDto, UserRole } from '@parley/protocol';
import type { TokenClaims } from './token.js';

export type ParleyMode = 'process' | 'container';

export interface StartParleyOptions {
  /** default: process mode when MySQL and NATS are given (options or MYSQL_URL/NATS_URL), else containers */
  mode?: ParleyMode | 'auto';
  /** process mode: `mysql://user:pass@host:port` of a server where a fresh database may be created */
  mysqlUrl?: string;
  /** process mode: a NATS server with JetStream */
  natsUrl?: string;
  /** process mode: the directory holding `gateway/`, `dialogs/`, `notifier/`, `mailer/` with `dist/main.js` */
  servicesDir?: string;
  /** container mode: the Parley image (one image, SERVICE picks the service); default `parley:latest` */
  image?: string;
  /** container mode: build the image from the Dockerfile in this directory first (a Parley checkout) */
  buildContext?: string;
  /** more environment for every service (see the configuration table) */
  env?: Record<string, string>;
  /** how long the whole start may take, ms (default 60 000 for processes, 300 000 for containers) */
  startTimeoutMs?: number;
}

export interface ParleyMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
  headers: Record<string, string>;
}

export interface CreateUserFields {
  id?: number;
  email?: string;
  first_name?: string;
  last_name?: string;
  role?: UserRole;
  reviewer_id?: number | null;
  email_notifications?: boolean;
  is_active?: boolean;
}

export interface StartedParley {
  mode: ParleyMode;
  /** `ws://host:port/ws/` */
  wsUrl: string;
  /** `http://host:port` of the gateway (admin API, files, the page) */
  httpUrl: string;
  /** SUBJECT_PREFIX of this instance's NATS subjects and streams */
  prefix: string;
  /** bearer token of the admin API */
  adminToken: string;
  /** the HS256 secret tokens are signed with (as the platform that issues them has it) */
  jwtSecret: string;
  /** a JWT for `userId` (claims: extra claims, `ttlSec` for its lifetime) */
  mintToken(userId: number, claims?: TokenClaims): string;
  /** a user through the admin API (ids count up from 1 unless given), with a token of theirs */
  createUser(fields?: CreateUserFields): Promise<UserRecordDto & { token: string }>;
  /** a dialog of these users through the admin API */
  createDialog(userIds: number[], opts?: { with_role?: 'support' | null }): Promise<DialogDto>;
  mail: {
    /** every e-mail the mailer sent so far */
    messages(): Promise<ParleyMail[]>;
  };
  /** stop everything and remove what this instance created (database, streams, containers) */
  stop(): Promise<void>;
}
