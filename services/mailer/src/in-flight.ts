/**
 * At most `size` e-mails at once between "the SMTP transaction starts" and
 * "its record says sent". A crash can only repeat an e-mail in that window,
 * so this bound is the bound on repeats per crash (PROTOCOL.md §6: one SMTP
 * transaction wide with the default SMTP_MAX_CONNECTIONS=1).
 */
export interface InFlightLimit {
  run<T>(fn: () => Promise<T>): Promise<T>;
}

export function createInFlightLimit(size: number): InFlightLimit {
  let active = 0;
  const waiting: Array<() => void> = [];
  return {
    async run(fn) {
      if (active < size) active++;
      else await new Promise<void>((resolve) => waiting.push(resolve));
      try {
        return await fn();
      } finally {
        // hand the place straight to the next in line, or give it back
        const next = waiting.shift();
        if (next) next();
        else active--;
      }
    },
  };
}
