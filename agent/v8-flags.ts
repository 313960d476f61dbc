// The V8 flags an agent process starts with: the chart puts them in NODE_OPTIONS (charts/vigil, agent.semiSpaceMiB)
// and the demo passes them to its agent processes. Only the command line can set them: V8 sizes a heap when its
// isolate starts, so setting them from inside the running agent would change nothing.

/**
 * The young generation's cap, MiB per semi-space. Left alone, V8 grows the young generation (to 64 MiB of new
 * space, seen) when many objects survive a scavenge, as they do in the burst of a window close over a thousand
 * log files. Capped at 4, the agent's RSS stays nearly flat in the number of files, for the same CPU and
 * throughput (bench/logs README, session 9).
 */
export const AGENT_SEMI_SPACE_MIB = 4;

export const AGENT_NODE_FLAGS: readonly string[] = [`--max-semi-space-size=${AGENT_SEMI_SPACE_MIB}`];
