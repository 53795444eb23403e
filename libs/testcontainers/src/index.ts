/** @parley/testcontainers: start a whole Parley for another app's tests. */
export { containerRuntimeAvailable, IMAGES } from './container-mode.js';
export { chooseMode, NOTHING_TO_START_WITH, startParley } from './start.js';
export { signToken, type TokenClaims } from './token.js';
export type * from './types.js';
