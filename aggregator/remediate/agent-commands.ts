// Node-level actions carried out by that node's agent over the gateway stream. The lead's gateway
// provides `sendToAgent(node, command)`: it writes a `vigil.v1.Command` on the node's stream and resolves
// with the matching `CommandResult`, or rejects when the stream breaks. Commands are idempotent by id (the
// agent reports the first result for an id it has seen), so a retry after a disconnect reuses the same id
// and can never run the action twice; past the deadline the agent must not start it.
import { create } from '@bufbuild/protobuf';
import { subjectToWire } from '../../common/signal-wire.ts';
import {
  type Command,
  type CommandResult,
  CommandSchema,
  CommandStatus,
} from '../../proto/gen/vigil/v1/gateway_pb.js';
import type { ActionExecutor, ActionType, ExecResult, RemediationAction } from './action.ts';

export type SendToAgent = (node: string, command: Command) => Promise<CommandResult>;

/** Our action types → the agent's command names (proto/vigil/v1/gateway.proto `Command.action`). */
export const AGENT_COMMANDS: Partial<Record<ActionType, string>> = {
  'agent.container_restart': 'container.restart',
  'agent.node_condition': 'node.condition',
  'agent.node_taint': 'node.taint',
  'agent.node_cordon': 'node.cordon',
  'agent.free_disk': 'logs.free_disk',
  'agent.kill_process': 'process.kill',
};

export interface AgentExecutorOptions {
  /** How long the agent may take to start the command (the command's deadline). */
  deadlineMs: number;
  /** Delay before the first retry after a broken stream; doubles each time. */
  retryDelayMs: number;
  clock: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const OUTCOME: Record<number, { ok: boolean; word: string }> = {
  [CommandStatus.SUCCEEDED]: { ok: true, word: 'succeeded' },
  [CommandStatus.DRY_RUN]: { ok: true, word: 'dry run' },
  [CommandStatus.FAILED]: { ok: false, word: 'failed' },
  [CommandStatus.REJECTED]: { ok: false, word: 'rejected by the agent' },
  [CommandStatus.EXPIRED]: { ok: false, word: 'expired before the agent started it' },
};

export function commandFor(action: RemediationAction, deadlineMs: number, dryRun = false): Command {
  const t = action.target;
  const subject = t.namespace
    ? {
        kind: 'pod' as const,
        node: t.node ?? '',
        namespace: t.namespace,
        pod: t.name,
        ...(t.container ? { container: t.container } : {}),
      }
    : { kind: 'node' as const, node: t.node ?? t.name };
  return create(CommandSchema, {
    id: action.id,
    action: AGENT_COMMANDS[action.type] ?? action.type,
    target: subjectToWire(subject),
    params: action.params,
    deadlineMs: BigInt(deadlineMs),
    dryRun,
  });
}

export class AgentExecutor implements ActionExecutor {
  readonly #send: SendToAgent;
  readonly #options: AgentExecutorOptions;
  readonly #sleep: (ms: number) => Promise<void>;

  constructor(send: SendToAgent, options: AgentExecutorOptions) {
    this.#send = send;
    this.#options = options;
    this.#sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
  }

  async execute(action: RemediationAction): Promise<ExecResult> {
    const node = action.target.node ?? action.target.name;
    const deadline = this.#options.clock() + this.#options.deadlineMs;
    const command = commandFor(action, deadline);
    let delay = this.#options.retryDelayMs;
    let attempts = 0;
    let lastError = '';
    // Same command (same id) on every attempt: the agent runs an id at most once.
    while (this.#options.clock() < deadline) {
      attempts += 1;
      try {
        const result = await this.#send(node, command);
        const outcome = OUTCOME[result.status] ?? { ok: false, word: `status ${result.status}` };
        return {
          ok: outcome.ok,
          message: `agent on ${node}: ${command.action} ${outcome.word}${result.message ? `: ${result.message}` : ''}`,
        };
      } catch (error) {
        lastError = (error as Error).message;
      }
      const left = deadline - this.#options.clock();
      if (left <= 0) break;
      await this.#sleep(Math.min(delay, left));
      delay *= 2;
    }
    return {
      ok: false,
      message: `agent on ${node} did not confirm ${command.action} before its deadline (${attempts} attempt(s); last error: ${lastError || 'none'}); the agent will not start it after the deadline`,
    };
  }
}
