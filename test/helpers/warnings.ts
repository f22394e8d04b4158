// Loaded before every test file (vitest `setupFiles`): a listener leak shows where it was made.
// Node prints a MaxListenersExceededWarning with no stack unless run with --trace-warnings; this
// prints the stack of the line that added the eleventh listener, and what it was added to.
process.on('warning', (warning: Error & { emitter?: object; type?: string; count?: number }) => {
  if (warning.name !== 'MaxListenersExceededWarning') return;
  const emitter = warning.emitter?.constructor?.name ?? 'an emitter';
  console.error(`listener leak: ${warning.count} "${warning.type}" listeners on ${emitter}\n${warning.stack}`);
});
