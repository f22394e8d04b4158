import { startDashboard, type RunningDashboard } from '../../bull-board/server.js';
import { createClient, type ApiClient } from '../../src/api/client.js';
import { createHarness, type Harness } from './harness.js';

/** A harness with one worker, a dashboard on it, and a TypeScript client of that dashboard. */
export interface DashboardSetup {
  h: Harness;
  dashboard: RunningDashboard;
  client: ApiClient;
}

/**
 * A private harness (`harness`: its options) with a worker for `executor` (`local` unless told),
 * a real dashboard on a free loopback port that takes `token`, and a client with that token.
 * Undo with stopDashboard. If a step fails, what was already started is stopped first.
 */
export async function startDashboardWithWorker(
  token: string,
  options: { harness?: Parameters<typeof createHarness>[0]; executor?: string } = {},
): Promise<DashboardSetup> {
  const h = createHarness(options.harness);
  try {
    await h.startWorker(options.executor);
    const dashboard = await startDashboard({ config: h.config(), port: 0, token, home: h.home });
    return { h, dashboard, client: createClient({ url: dashboard.url, token }) };
  } catch (error) {
    await h.cleanup();
    throw error;
  }
}

/** Closes the dashboard, then stops the harness; either may be missing after a failed start. */
export async function stopDashboard({ h, dashboard }: Partial<Pick<DashboardSetup, 'h' | 'dashboard'>>): Promise<void> {
  await dashboard?.close();
  await h?.cleanup();
}
