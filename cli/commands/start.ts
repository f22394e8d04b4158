// `openclaw-agent start`: dispatches a Claude Code prompt as a task, or continues a task's session.
import { open } from 'node:fs/promises';
import { Flags } from '@oclif/core';
import { BaseCommand } from '../base-command.js';
import { dispatchFlags, dispatchOptions, dispatchTask } from '../dispatch.js';
import { argvEncodingProblem } from '../global-flags.js';
import { lib } from '../load-library.js';
import { checkTaskInput } from '../task-check.js';
import type { EnqueueInput, TaskClient } from '../../src/index.js';

export default class Start extends BaseCommand {
  static override summary = 'Start a Claude Code task';
  static override description =
    'Runs `claude -p` on the executor with the prompt on stdin; prints the task id at once. `--continue ID` resumes the Claude session of an earlier task, on its executor and in its workspace.';
  static override examples = [
    '<%= config.bin %> start --executor crib --workspace ~/app --prompt "Fix the nix build"',
    '<%= config.bin %> start --continue 3f2a9c --prompt "Now add a test for it"',
    'git diff | <%= config.bin %> start -e crib -w ~/app --prompt - --permission-mode acceptEdits',
  ];
  static override flags = {
    ...dispatchFlags,
    prompt: Flags.string({ char: 'p', description: 'The prompt ("-" reads it from stdin)' }),
    'prompt-file': Flags.string({ description: 'Read the prompt from this file', exclusive: ['prompt'] }),
    continue: Flags.string({
      description:
        'Continue the Claude session of this task (id or prefix): same executor and workspace, claude --resume',
    }),
    workspace: Flags.string({
      char: 'w',
      aliases: ['workdir'],
      description: 'Workspace directory (~ expands on the executor)',
    }),
    'max-turns': Flags.integer({ description: 'Maximum agent turns (default: defaults.max_turns)', min: 1 }),
    'allowed-tools': Flags.string({
      description: 'Tool Claude may use without asking (repeatable or comma-separated)',
      multiple: true,
    }),
    'disallowed-tools': Flags.string({
      description: 'Tool Claude may not use (repeatable or comma-separated)',
      multiple: true,
    }),
    model: Flags.string({ description: 'Model name or alias for claude --model' }),
    'permission-mode': Flags.string({
      description:
        "default, acceptEdits, auto, bypassPermissions, manual, dontAsk or plan (default: the executor's permission_mode)",
    }),
    'max-budget-usd': Flags.string({
      description: 'Stop when the run has cost this many dollars (claude --max-budget-usd)',
    }),
    'append-system-prompt': Flags.string({ description: "Text added to Claude's system prompt" }),
    'on-limit': Flags.string({
      description: "When the account's usage limit is reached: wait for the reset and resume the session, or fail",
      options: ['wait', 'fail'],
    }),
    'limit-waits': Flags.integer({
      description: 'How many times to wait for a usage limit before failing (default 3)',
      min: 0,
      max: 20,
    }),
  };

  /** The task these words ask for, checked; nothing connects yet (`schedule add` keeps it). */
  async taskInput(): Promise<{ input: EnqueueInput; flags: Awaited<ReturnType<Start['parseFlags']>> }> {
    const { buildClaudePayload, UsageError } = await lib();
    const problem = argvEncodingProblem(this.argv);
    if (problem !== undefined) throw new UsageError(problem);
    const flags = await this.parseFlags();
    const prompt = await readPrompt(flags.prompt, flags['prompt-file']);
    const payload = buildClaudePayload({
      prompt,
      maxTurns: flags['max-turns'],
      workspace: flags.workspace,
      allowedTools: flags['allowed-tools'],
      disallowedTools: flags['disallowed-tools'],
      model: flags.model,
      permissionMode: flags['permission-mode'],
      maxBudgetUsd: flags['max-budget-usd'],
      appendSystemPrompt: flags['append-system-prompt'],
    });
    const config = await this.loadConfig(flags.config);
    const input = {
      ...(await dispatchOptions(config, flags)),
      onLimit: flags['on-limit'] as 'wait' | 'fail' | undefined,
      limitWaits: flags['limit-waits'],
      payload,
    };
    await checkTaskInput(config, input, {
      argv: this.argv,
      flags: Start.flags,
      continuing: flags.continue !== undefined,
    });
    return { input, flags };
  }

  private async parseFlags() {
    return (await this.parse(Start)).flags;
  }

  async run(): Promise<void> {
    const { input, flags } = await this.taskInput();
    const { payload } = input;
    if (flags.continue === undefined || payload.type !== 'claude_code') {
      // Checked before any worker starts.
      const client = await this.openClient(flags.config, (c) => c.prepare(input));
      process.exitCode = await dispatchTask(client, payload, input, flags);
      return;
    }
    // The earlier task's session, workspace, executor and worktree (continuation.ts). A task that
    // cannot be continued, or a request that would be refused, is refused before any worker starts.
    const earlier = flags.continue;
    const { continueTask } = await lib();
    const continueFrom = async (client: TaskClient): Promise<EnqueueInput> => {
      const continued = continueTask(await client.get(earlier), payload, {
        executor: flags.executor,
        worktree: input.worktree,
      });
      return {
        ...input,
        payload: continued.payload,
        executor: continued.executor,
        worktree: continued.worktree ?? input.worktree,
      };
    };
    let continuation: EnqueueInput | undefined;
    const client = await this.openClient(flags.config, async (c) => c.prepare((continuation = await continueFrom(c))));
    continuation ??= await continueFrom(client);
    process.exitCode = await dispatchTask(client, continuation.payload, continuation, flags);
  }
}

// --prompt TEXT, --prompt - (stdin) or --prompt-file FILE. A file or stdin is read up to one byte
// past the prompt's limit, so that a huge file or a device like /dev/zero is refused at once.
async function readPrompt(prompt: string | undefined, file: string | undefined): Promise<string | undefined> {
  const { UsageError, escapeControls, MAX_PROMPT_BYTES } = await lib();
  const limit = `${MAX_PROMPT_BYTES / 1024 / 1024} MiB`;
  const tooLarge = (what: string, size: string) =>
    new UsageError(
      `${what} is ${size}, over the limit of ${limit} for a prompt — give Claude the path of a file in the workspace to read instead`,
    );
  if (file !== undefined) {
    const shown = `--prompt-file ${escapeControls(file)}`;
    const cannot = (reason: string) => new UsageError(`cannot read ${shown}: ${reason}`);
    let handle;
    try {
      handle = await open(file, 'r');
    } catch (error) {
      throw cannot((error as NodeJS.ErrnoException).code ?? String(error));
    }
    try {
      const stat = await handle.stat();
      if (stat.isDirectory()) throw cannot('it is a directory');
      // A regular file's size is known: one too large is refused without reading it.
      if (stat.isFile() && stat.size > MAX_PROMPT_BYTES)
        throw tooLarge(shown, `${(stat.size / 1024 / 1024).toFixed(1)} MiB`);
      const text = await readAtMost(handle.createReadStream({ autoClose: false }), MAX_PROMPT_BYTES + 1);
      if (text === undefined) throw tooLarge(shown, `more than ${limit}`);
      if (text.trim() === '') throw new UsageError(`${shown} holds no prompt: the file is empty or blank`);
      return text;
    } catch (error) {
      if (error instanceof UsageError) throw error;
      throw cannot((error as NodeJS.ErrnoException).code ?? String(error));
    } finally {
      await handle.close();
    }
  }
  if (prompt !== '-') return prompt;
  const text = await readAtMost(process.stdin, MAX_PROMPT_BYTES + 1);
  if (text === undefined) throw tooLarge('the prompt on stdin', `more than ${limit}`);
  if (text.trim() === '') {
    throw new UsageError(
      '--prompt - read no prompt: stdin was empty or blank — pipe the prompt in, or give --prompt "TEXT"',
    );
  }
  return text;
}

// The stream's text, or undefined once it has given `most` bytes (it is read no further).
async function readAtMost(stream: AsyncIterable<unknown>, most: number): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of stream) {
    chunks.push(chunk as Buffer);
    length += (chunk as Buffer).length;
    if (length >= most) return undefined;
  }
  return Buffer.concat(chunks, length).toString('utf8');
}
