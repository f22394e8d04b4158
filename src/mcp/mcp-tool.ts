// What an MCP tool is: its context, its answer, and the `tool()` helper that types its handler.
import type { z } from 'zod';
import type { TaskClient } from '../tasks/client.js';

export interface McpToolContext {
  client: TaskClient;
  /** Where a relative workdir of a local task resolves; undefined (over HTTP) asks for absolute paths. */
  callerCwd?: string;
  /** Aborted when the client cancels the call or goes away. */
  signal: AbortSignal;
  /** Tells a client that asked for progress that a long call is alive. */
  progress(message: string): Promise<void>;
}

export interface McpToolResult {
  text: string;
  structured: Record<string, unknown>;
}

export interface McpTool {
  name: string;
  description: string;
  input: z.ZodType;
  output: z.ZodType;
  /** Changes nothing: offered by a read-only dashboard too. */
  readOnly: boolean;
  handle(context: McpToolContext, args: never): Promise<McpToolResult>;
}

// A tool whose handler gets its parsed arguments typed.
export function tool<I extends z.ZodType, O extends z.ZodType>(definition: {
  name: string;
  description: string;
  input: I;
  output: O;
  readOnly: boolean;
  handle(context: McpToolContext, args: z.output<I>): Promise<McpToolResult>;
}): McpTool {
  return definition;
}
