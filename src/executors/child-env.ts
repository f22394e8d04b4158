/**
 * The environment of a process we start for someone else (a task, a command notifier): ours
 * without our own settings — the Redis URL with its password, `OPENCLAW_AGENT_*` (the webhook
 * secret, the signing key) — and without the variables named in `secrets` (the notifiers'
 * hooks tokens): a task that could read a token could wake an agent with text of its own.
 */
export function withoutOwnSecrets(env: NodeJS.ProcessEnv, secrets: readonly string[] = []): NodeJS.ProcessEnv {
  const hidden = new Set(secrets);
  const out: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(env)) {
    if (key === 'REDIS_URL' || key.startsWith('OPENCLAW_AGENT_') || hidden.has(key)) continue;
    out[key] = value;
  }
  return out;
}
