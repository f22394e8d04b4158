/**
 * The environment of a process we start for someone else (a task, a command notifier): ours
 * without our own settings — the Redis URL with its password, the webhook secret, the signing key.
 */
export function withoutOwnSecrets(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(env)) {
    if (key === 'REDIS_URL' || key.startsWith('OPENCLAW_AGENT_')) continue;
    out[key] = value;
  }
  return out;
}
