/** WebSocket close codes the gateway uses (PROTOCOL.md §1, §2). 4000–4999 are ours. */
export const CLOSE_CODES = {
  /** server shutting down; reconnect elsewhere */
  GOING_AWAY: 1001,
  /** kept flooding after `rate_limited` answers */
  POLICY_VIOLATION: 1008,
  /** a frame over the size limit */
  MESSAGE_TOO_BIG: 1009,
  /** unexpected server failure */
  INTERNAL_ERROR: 1011,
  /** too slow to read its pushes */
  TRY_AGAIN_LATER: 1013,
  /** the JWT's `exp` passed on a live socket */
  TOKEN_EXPIRED: 4401,
  /** the user was deactivated (admin API `is_active: false`); do not reconnect with this token */
  ACCOUNT_DEACTIVATED: 4403,
  /** more frames (`MAX_QUEUED_FRAMES`) or bytes (`MAX_QUEUED_BYTES`) waiting for their answer than allowed */
  QUEUE_FULL: 4429,
} as const;

export type CloseCode = (typeof CLOSE_CODES)[keyof typeof CLOSE_CODES];
