// The worker file of the agent's shared detection thread (detection-thread.ts): log mining and metric detection
// in one thread, each task naming its handler.
export { default as logs } from './logs/mining-worker.ts';
export { default as metrics } from './metrics/pool-worker.ts';
