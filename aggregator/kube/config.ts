// Finds how to reach the Kubernetes API: an explicit kubeconfig, else the in-cluster service account,
// else nothing — and then Kubernetes features are off, said once.
import { existsSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../../common/log.ts';

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export function loadKubeConfig(kubeconfig: string | undefined, logger: Logger): KubeConfig | undefined {
  const kc = new KubeConfig();
  if (kubeconfig) {
    try {
      kc.loadFromFile(kubeconfig);
    } catch (error) {
      throw new Error(`cannot load kubeconfig ${kubeconfig}: ${(error as Error).message}`);
    }
    logger.info({ kubeconfig, server: kc.getCurrentCluster()?.server }, 'Kubernetes API via kubeconfig');
    return kc;
  }
  if (process.env['KUBERNETES_SERVICE_HOST'] && existsSync(SERVICE_ACCOUNT_TOKEN)) {
    kc.loadFromCluster();
    logger.info({ server: kc.getCurrentCluster()?.server }, 'Kubernetes API via in-cluster service account');
    return kc;
  }
  logger.info('Kubernetes features are off: no kubeconfig given and not running in a cluster');
  return undefined;
}
