/**
 * startParley(): a whole Parley for another app's tests. Process mode when MySQL and NATS are given
 * (options or MYSQL_URL / NATS_URL) and the services are built; container mode where a Docker engine
 * runs; otherwise one sentence says what is missing.
 */
import { containerRuntimeAvailable, startContainers } from './container-mode.js';
import { defaultServicesDir, missingBuild, startProcesses } from './process-mode.js';
import type { ParleyMode, StartedParley, StartParleyOptions } from './types.js';

export const NOTHING_TO_START_WITH =
  'startParley() found neither MySQL and NATS for process mode (pass mysqlUrl and natsUrl, or set MYSQL_URL ' +
  'and NATS_URL, with Parley built by npm run build) nor a running Docker engine for container mode.';

export async function startParley(options: StartParleyOptions = {}): Promise<StartedParley> {
  const mysqlUrl = options.mysqlUrl ?? process.env.MYSQL_URL;
  const natsUrl = options.natsUrl ?? process.env.NATS_URL;
  const mode = chooseMode({
    mode: options.mode ?? 'auto',
    servers: Boolean(mysqlUrl && natsUrl),
    built: processBuilt(options),
    docker: options.mode === 'process' ? false : await containerRuntimeAvailable(),
  });
  if (mode === 'container') return startContainers(options);
  return startProcesses({ ...options, mysqlUrl: mysqlUrl!, natsUrl: natsUrl! });
}

/** Which mode runs, or the sentence saying why none can. */
export function chooseMode(o: {
  mode: ParleyMode | 'auto';
  /** MySQL and NATS given */
  servers: boolean;
  /** the services' dist/main.js exist */
  built: boolean;
  docker: boolean;
}): ParleyMode {
  if (o.mode === 'process') {
    if (!o.servers) {
      throw new Error(
        'startParley() in process mode needs mysqlUrl and natsUrl (or MYSQL_URL and NATS_URL).',
      );
    }
    return 'process'; // a missing build is reported with the missing files
  }
  if (o.mode === 'container') {
    if (!o.docker) throw new Error('startParley() in container mode needs a running Docker engine.');
    return 'container';
  }
  if (o.servers && o.built) return 'process';
  if (o.docker) return 'container';
  throw new Error(NOTHING_TO_START_WITH);
}

function processBuilt(options: StartParleyOptions): boolean {
  try {
    return missingBuild(options.servicesDir ?? defaultServicesDir()).length === 0;
  } catch {
    return false; // @parley/gateway is not installed next to this package
  }
}
