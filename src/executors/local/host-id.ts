// The name of the host a worker runs on, recorded with each local task it starts.
import { hostname } from 'node:os';

/** The environment variable that names this worker's host; it wins over the config. */
export const HOST_ID_ENV = 'OPENCLAW_AGENT_HOST_ID';

/**
 * The host a worker runs on, recorded with every local task it starts: a worker elsewhere cannot
 * reach that task's process. `OPENCLAW_AGENT_HOST_ID`, then the config's `worker.host_id`, then
 * the machine's hostname. Set it when hostnames repeat (containers, network namespaces, clones).
 */
export function resolveHostId(configured?: string, env: NodeJS.ProcessEnv = process.env): string {
  const fromEnv = env[HOST_ID_ENV]?.trim();
  if (fromEnv) return fromEnv;
  return configured ?? hostname();
}
