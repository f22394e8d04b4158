/**
 * Moves `-c/--config PATH` and `-v/--verbose` given before the subcommand (the original tool's
 * global flags) into the environment, and returns the rest. `-c` after the subcommand is
 * `run`'s `--cmd`, so only the leading flags are taken.
 */
export function hoistGlobalFlags(argv: string[], env: NodeJS.ProcessEnv): string[] {
  const rest = [...argv];
  while (rest.length > 0) {
    const word = rest[0]!;
    if (word === '-v' || word === '--verbose') {
      env.OPENCLAW_AGENT_VERBOSE = '1';
      rest.shift();
    } else if ((word === '-c' || word === '--config') && rest.length > 1) {
      env.OPENCLAW_AGENT_CONFIG = rest[1];
      rest.splice(0, 2);
    } else if (word.startsWith('--config=')) {
      env.OPENCLAW_AGENT_CONFIG = word.slice('--config='.length);
      rest.shift();
    } else {
      break;
    }
  }
  return rest;
}
