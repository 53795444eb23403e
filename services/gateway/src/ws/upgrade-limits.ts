/**
 * Admission limit checked at the upgrade, before a socket exists (429): upgrades per client address
 * per second (a reconnect storm or a token-guessing loop from one place). Pure bookkeeping: the
 * server decides what to answer. (The other, open sockets per user on this instance, is the hub's
 * count of the user's holds.)
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
