/**
 * Admission limits checked at the upgrade, before a socket exists (both answer 429): upgrades per
 * client address per second (a reconnect storm or a token-guessing loop from one place), and open
 * sockets per user on this instance (one stolen or shared token cannot hold unbounded memory).
 * Pure bookkeeping: the server decides what to answer.
 */

export interface AddressLimiter {
  /** count one upgrade from `address`; false when it is over this second's allowance */
  allow(address: string, now?: number): boolean;
}

/**
 * A fixed one-second window per address. The map is emptied when the window moves on, so it holds
 * at most the addresses seen within one second. `perSec` 0: no limit.
 */
export function createAddressLimiter(perSec: number): AddressLimiter {
  const counts = new Map<string, number>();
  let window = 0;
  return {
    allow(address, now = Date.now()) {
      if (perSec <= 0) return true;
      const second = Math.floor(now / 1000);
      if (second !== window) {
        window = second;
        counts.clear();
      }
      const n = (counts.get(address) ?? 0) + 1;
      counts.set(address, n);
      return n <= perSec;
    },
  };
}

export interface SocketQuota {
  /**
   * Reserve a socket for `userId` (from authentication until that socket is gone); false when the
   * user already holds `max`. Each reservation is given back with one release(userId).
   */
  reserve(userId: number): boolean;
  release(userId: number): void;
}

/** counts by user id (no object per socket: an open socket keeps nothing of its reservation) */
export function createSocketQuota(max: number): SocketQuota {
  const held = new Map<number, number>();
  return {
    reserve(userId) {
      const n = held.get(userId) ?? 0;
      if (n >= max) return false;
      held.set(userId, n + 1);
      return true;
    },
    release(userId) {
      const left = (held.get(userId) ?? 1) - 1;
      if (left > 0) held.set(userId, left);
      else held.delete(userId);
    },
  };
}
