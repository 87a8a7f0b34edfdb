/** The cluster client: one kubeconfig context over HTTPS. */
export * from './types';
export { openKubeClient } from './client';
export { listContexts, loadKubeConfig, kubeconfigFiles, type ContextInfo } from './kubeconfig';
export { parseStatus } from './exec';
