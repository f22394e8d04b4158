/**
 * Ends a long-running process (worker, stack, dashboard) once it has shut down cleanly. A timer a
 * library armed for a read the shutdown cut off — ioredis's 20 s socket timeout on a BullMQ
 * blocking read — must not keep it up. What it said went to stderr, which is synchronous.
 */
export function exitAfterShutdown(): never {
  process.exit();
}
