/** What the liveness check reads of a worker. */
export interface LivenessProbe {
  /** Tasks waiting in the worker's queue (rejects or hangs when Redis does). */
  waiting(): Promise<number>;
  /** Tasks the worker follows now. */
  running(): number;
  /** Tasks it may follow at once. */
  capacity: number;
  /** False while the connection is away and reconnecting by itself (Redis down is not a stuck worker). */
  connected(): boolean;
}

/**
 * Checks that work actually flows, not just that the process is up: BullMQ has had releases whose
 * workers silently stopped consuming, and a connection whose TCP state was dropped on the way (a
 * NAT or firewall forgetting it) leaves a blocking read waiting forever. Every few seconds the
 * check asks Redis how many tasks wait; the worker is stuck when tasks have waited `timeoutMs`
 * while it had a free slot and took none, or when Redis, connected, has not answered in that time.
 * `onStuck` then restarts the consumer.
 */
export class WorkLiveness {
  private flowingAt = Date.now();
  private checking = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly timeoutMs: number,
    private readonly probe: LivenessProbe,
    private readonly onStuck: (reason: string) => Promise<void>,
  ) {}

  /** The worker took a task: work flows. */
  pickedUp(): void {
    this.flowingAt = Date.now();
  }

  start(): void {
    const period = Math.min(5000, Math.max(250, Math.floor(this.timeoutMs / 3)));
    this.timer = setInterval(() => void this.check(), period);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async check(): Promise<void> {
    if (this.checking) return;
    this.checking = true;
    try {
      const reason = await this.stuckReason();
      if (reason === undefined) return;
      await this.onStuck(reason);
      this.flowingAt = Date.now();
    } finally {
      this.checking = false;
    }
  }

  // Why the worker is stuck, or undefined while work flows (or cannot flow for a reason of its own).
  private async stuckReason(): Promise<string | undefined> {
    if (!this.probe.connected() || this.probe.running() >= this.probe.capacity) {
      this.flowingAt = Date.now();
      return undefined;
    }
    const seconds = `${Math.round(this.timeoutMs / 100) / 10}s`;
    let waiting: number | undefined;
    try {
      waiting = await answerWithin(this.probe.waiting(), this.timeoutMs);
    } catch {
      // Redis refused or dropped the probe: the connection recovers by itself.
      this.flowingAt = Date.now();
      return undefined;
    }
    if (waiting === undefined) return `Redis has not answered for ${seconds} on a connection it holds open`;
    if (waiting === 0) {
      this.flowingAt = Date.now();
      return undefined;
    }
    if (Date.now() - this.flowingAt < this.timeoutMs) return undefined;
    const free = this.probe.capacity - this.probe.running();
    return `${waiting} task(s) waited ${seconds} while ${free} slot(s) were free, and none was taken`;
  }
}

// The promise's value, or undefined if it has not settled within `ms`.
async function answerWithin<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), ms);
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
