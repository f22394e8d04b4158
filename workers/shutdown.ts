/**
 * Ends a long-running process (worker, stack, dashboard) once it has shut down cleanly. A timer a
 * library armed for a read the shutdown cut off — ioredis's 20 s socket timeout on a BullMQ
 * blocking read — must not keep it up. What it said went to stderr, which is synchronous.
 */
export function exitAfterShutdown(): never {
  process.exit();
}

/**
 * Resolves with the first SIGTERM or SIGINT from now on. Called before a process starts its
 * parts and says it is ready: a signal sent the moment "ready" is read must find the handler, or
 * Node's default ends the process half-way (no clean close, a state file left behind).
 */
export function untilStopSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
      resolve(signal);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
