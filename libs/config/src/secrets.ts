/**
 * Secrets in production: a value anyone can read in this repository (the built-in development
 * default, the examples in README, docker-compose.yml, .env.example and deploy/) signs nothing in
 * production. `e2e/production-secrets.test.ts` scans those files and fails when a value written
 * there is missing from this list.
 */

/** JWT_SECRET when it is unset outside production (with a loud warning) */
export const DEVELOPMENT_JWT_SECRET = 'parley-development-secret-do-not-use-in-production';

export const PUBLISHED_SECRETS: readonly string[] = [
  DEVELOPMENT_JWT_SECRET,
  // docker-compose.yml's fallback for JWT_SECRET (older compose files)
  'change-me-in-production',
  // docker-compose.yml's development fallbacks
  'dev-only-jwt-secret-do-not-deploy',
  'dev-only-admin-token-do-not-deploy',
  // deploy/kubernetes/secret.template.yaml's placeholder
  'CHANGE-ME',
];

/** shortest secret accepted in production, in UTF-8 bytes (HS256 keys should be ≥ 256 bits) */
export const MIN_PRODUCTION_SECRET_BYTES = 32;

export function isPublishedSecret(value: string): boolean {
  return PUBLISHED_SECRETS.includes(value.trim());
}

/**
 * Why `raw` (the variable's value; '' or '-' when unset) cannot be a production secret, as one
 * sentence naming the variable but never its value; null when it can.
 */
export function productionSecretProblem(name: string, raw: string): string | null {
  const advice = `set it to a random value of at least ${MIN_PRODUCTION_SECRET_BYTES} bytes (e.g. \`openssl rand -base64 48\`)`;
  if (raw === '' || raw === '-') return `${name} is required when NODE_ENV=production: ${advice}`;
  if (isPublishedSecret(raw)) {
    return `${name} is a value published in the Parley repository, so anyone can forge with it: ${advice}`;
  }
  if (Buffer.byteLength(raw, 'utf8') < MIN_PRODUCTION_SECRET_BYTES) {
    return `${name} is shorter than ${MIN_PRODUCTION_SECRET_BYTES} bytes, too weak for production: ${advice}`;
  }
  return null;
}
