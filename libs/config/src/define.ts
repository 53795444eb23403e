/**
 * Declare a service's environment variables once (name, parser, default, doc,
 * secret); parse them once in main.ts, report every bad one together, freeze.
 * Nothing else in the repo reads process.env.
 */
import { isPublishedSecret, productionSecretProblem } from './secrets.js';

export interface VarSpec<T> {
  doc: string;
  parse: (raw: string) => T;
  /** used when the variable is unset or empty; without one the variable is required */
  default?: string;
  /** never printed (tokens, passwords in URLs) */
  secret?: boolean;
  /** a default only fit for development: used with a warning */
  devDefault?: string;
  /**
   * With NODE_ENV=production: required, at least 32 bytes, and not a value written in the
   * repository (secrets.ts). Elsewhere a published value is accepted with a warning.
   */
  productionSecret?: boolean;
}

// biome-ignore lint/suspicious/noExplicitAny: a spec table holds parsers of many types
export type ConfigSpec = Record<string, VarSpec<any>>;
export type ConfigOf<S extends ConfigSpec> = { readonly [K in keyof S]: ReturnType<S[K]['parse']> };

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

export interface Parsed<S extends ConfigSpec> {
  config: ConfigOf<S>;
  /** names that fell back to a development default */
  warnings: string[];
}

export function parseConfig<S extends ConfigSpec>(
  spec: S,
  env: Record<string, string | undefined>,
): Parsed<S> {
  const problems: string[] = [];
  const warnings: string[] = [];
  const out: Record<string, unknown> = {};
  const production = env.NODE_ENV?.trim() === 'production';
  for (const [name, v] of Object.entries(spec)) {
    let raw = env[name];
    if (v.productionSecret && production) {
      const problem = productionSecretProblem(name, raw?.trim() ?? '');
      if (problem) {
        problems.push(problem);
        continue;
      }
    } else if (v.productionSecret && raw && isPublishedSecret(raw)) {
      warnings.push(`${name} is a value published in the repository: anyone can forge with it`);
    }
    if (raw === undefined || raw === '') {
      if (v.default !== undefined) raw = v.default;
      else if (v.devDefault !== undefined) {
        raw = v.devDefault;
        warnings.push(`${name} is not set: using an insecure development default`);
      } else {
        problems.push(`${name} is required (${v.doc})`);
        continue;
      }
    }
    try {
      out[name] = v.parse(raw);
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      problems.push(`${name}: ${why}${v.secret ? '' : ` (got ${JSON.stringify(raw)})`}`);
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return { config: Object.freeze(out) as ConfigOf<S>, warnings };
}

/** The parsers; each throws an Error whose message says what is expected. */
export const parsers = {
  string: (raw: string) => raw,
  int:
    (min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER) =>
    (raw: string) => {
      if (!/^-?\d+$/.test(raw.trim())) throw new Error('expected an integer');
      const n = Number(raw);
      if (n < min || n > max) throw new Error(`expected an integer in ${min}..${max}`);
      return n;
    },
  number:
    (min = 0, max = Number.MAX_SAFE_INTEGER) =>
    (raw: string) => {
      const n = Number(raw);
      if (!Number.isFinite(n) || n < min || n > max) throw new Error(`expected a number in ${min}..${max}`);
      return n;
    },
  bool: (raw: string) => {
    const v = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    throw new Error('expected true or false');
  },
  oneOf:
    <T extends string>(...values: T[]) =>
    (raw: string): T => {
      if (!(values as string[]).includes(raw)) throw new Error(`expected one of ${values.join(', ')}`);
      return raw as T;
    },
  url:
    (...protocols: string[]) =>
    (raw: string): string => {
      let u: URL;
      try {
        u = new URL(raw);
      } catch {
        throw new Error('expected a URL');
      }
      if (protocols.length && !protocols.includes(u.protocol.replace(/:$/, ''))) {
        throw new Error(`expected a ${protocols.join('/')} URL`);
      }
      return raw.replace(/\/+$/, '');
    },
  list: (raw: string) =>
    raw
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  optional:
    <T>(inner: (raw: string) => T) =>
    (raw: string): T | null =>
      raw === '' || raw === '-' ? null : inner(raw),
};
