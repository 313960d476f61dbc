// Remediation actions: what the planner proposes, what guardrails judge, what executors carry out.

/** Cluster actions go through the Kubernetes API; `agent.*` actions are commands to one node's agent. */
export const ACTION_TYPES = [
  'pod.restart',
  'deployment.rollout_restart',
  'deployment.rollback',
  'deployment.scale',
  'node.cordon',
  'node.drain',
  'pod.quarantine',
  'agent.container_restart',
  'agent.node_condition',
  'agent.node_taint',
  'agent.node_cordon',
  'agent.free_disk',
  'agent.kill_process',
] as const;

export type ActionType = (typeof ACTION_TYPES)[number];

export type Mode = 'off' | 'dry-run' | 'approve' | 'auto';

export type ActionStatus =
  | 'pending_approval'
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'blocked'
  | 'rejected'
  | 'expired'
  | 'dry_run'
  | 'skipped'
  /** It was running when the aggregator stopped: its outcome is unknown and it is never run again by itself. */
  | 'interrupted';

/** Terminal states: nothing more will happen to the action. */
export const FINAL_STATUSES: ReadonlySet<ActionStatus> = new Set([
  'succeeded',
  'failed',
  'blocked',
  'rejected',
  'expired',
  'dry_run',
  'skipped',
  'interrupted',
]);

export interface ActionTarget {
  /** `Pod/ns/name`, `Deployment/ns/name`, `Node//name`. */
  object: string;
  namespace?: string;
  name: string;
  /** The node an `agent.*` command goes to, or a pod runs on. */
  node?: string;
  /** For `agent.container_restart`: the container. */
  container?: string;
}

export interface RemediationAction {
  id: string;
  incidentId: string;
  /** The policy rule that proposed it. */
  rule: string;
  type: ActionType;
  target: ActionTarget;
  params: Record<string, string>;
  mode: Mode;
  status: ActionStatus;
  /** Position in the rule's escalation ladder (0 = first). */
  step: number;
  createdMs: number;
  updatedMs: number;
  /** Approval deadline (approve mode). */
  deadlineMs?: number;
  finishedMs?: number;
  /** Who approved or rejected it. */
  decidedBy?: string;
  message: string;
  /** After success: `healed` once the incident's signals stopped, `not_healed` when they went on. */
  verification?: 'pending' | 'healed' | 'not_healed';
}

export interface ExecResult {
  ok: boolean;
  message: string;
}

/** Carries out one action; never throws (failures are results). */
export interface ActionExecutor {
  execute(action: RemediationAction): Promise<ExecResult>;
}
