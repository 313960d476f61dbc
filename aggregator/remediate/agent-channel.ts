// `sendToAgent` on top of the gateway's hooks: the gateway reports each node's live stream (`onSession`)
// and every `CommandResult` (`onCommandResult`); this matches results to commands by id. A stream that
// ends or is replaced fails the node's pending commands (the executor retries them with the same id, which
// the agent runs at most once); a command with no answer fails once its deadline plus a grace period passed.
import { create } from '@bufbuild/protobuf';
import {
  type AggregatorMessage,
  AggregatorMessageSchema,
  type Command,
  type CommandResult,
} from '../../proto/gen/vigil/v1/gateway_pb.js';
import type { SendToAgent } from './agent-commands.ts';

export interface AgentChannel {
  /** Give to the gateway as `onSession`. */
  onSession(node: string, send: ((msg: AggregatorMessage) => boolean) | undefined): void;
  /** Give to the gateway as `onCommandResult`. */
  onCommandResult(node: string, result: CommandResult): void;
  /** Give to the incident engine as `sendToAgent`. */
  sendToAgent: SendToAgent;
  /** Commands waiting for a result. */
  pending(): number;
}

interface Waiting {
  node: string;
  resolve: (r: CommandResult) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export function createAgentChannel(options: { graceMs?: number; clock?: () => number } = {}): AgentChannel {
  const grace = options.graceMs ?? 10_000;
  const clock = options.clock ?? Date.now;
  const sessions = new Map<string, (msg: AggregatorMessage) => boolean>();
  const waiting = new Map<string, Waiting>();

  const failNode = (node: string, why: string) => {
    for (const [id, w] of waiting) {
      if (w.node !== node) continue;
      clearTimeout(w.timer);
      waiting.delete(id);
      w.reject(new Error(why));
    }
  };

  return {
    onSession(node, send) {
      failNode(node, `stream of ${node} ${send ? 'replaced' : 'closed'} before the command result arrived`);
      if (send) sessions.set(node, send);
      else sessions.delete(node);
    },
    onCommandResult(node, result) {
      const w = waiting.get(result.id);
      if (!w || w.node !== node) return;
      clearTimeout(w.timer);
      waiting.delete(result.id);
      w.resolve(result);
    },
    sendToAgent(node: string, command: Command): Promise<CommandResult> {
      const send = sessions.get(node);
      if (!send) return Promise.reject(new Error(`${node} is not connected`));
      const previous = waiting.get(command.id);
      if (previous) {
        clearTimeout(previous.timer);
        previous.reject(new Error('superseded by a retry of the same command'));
      }
      return new Promise<CommandResult>((resolve, reject) => {
        const waitMs = Math.max(0, Number(command.deadlineMs) - clock()) + grace;
        const timer = setTimeout(() => {
          waiting.delete(command.id);
          reject(new Error(`no result from ${node} for command ${command.id}`));
        }, waitMs);
        timer.unref();
        waiting.set(command.id, { node, resolve, reject, timer });
        const ok = send(create(AggregatorMessageSchema, { msg: { case: 'command', value: command } }));
        if (!ok) {
          clearTimeout(timer);
          waiting.delete(command.id);
          reject(new Error(`stream of ${node} refused the command`));
        }
      });
    },
    pending: () => waiting.size,
  };
}
