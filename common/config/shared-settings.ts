// Settings the agent and the aggregator both have, defined once.
import { z } from 'zod';
import { setting } from './settings.ts';

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

export const logLevelSetting = () =>
  setting({
    flag: 'log-level',
    env: 'VIGIL_LOG_LEVEL',
    description: 'Log level',
    schema: z.enum(LEVELS),
    default: 'info' as const,
  });

export const kubeconfigSetting = () =>
  setting({
    flag: 'kubeconfig',
    env: 'VIGIL_KUBECONFIG',
    description:
      'Kubeconfig file; without one the in-cluster service account is used, and outside a cluster Kubernetes features are off',
    schema: z.string().min(1),
  });
