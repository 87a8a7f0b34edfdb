import type { ObjectApi } from '../contract';
import type { ControllerSpec } from './loop';
import { R, errorCode, isTerminating } from './resources';

const ROOT_CA = 'kube-root-ca.crt';

/**
 * What every namespace holds on a real cluster: the `default`
 * ServiceAccount and the `kube-root-ca.crt` ConfigMap with the cluster CA
 * (recreated when deleted, rewritten when changed).
 */
export function namespaceContentController(api: ObjectApi, caCert: string): ControllerSpec {
  const inNamespace = (obj: { metadata: { namespace?: string } }): string[] => (obj.metadata.namespace ? [obj.metadata.namespace] : []);
  return {
    name: 'namespace-content',
    primary: R.namespaces,
    related: [
      { key: R.serviceaccounts, map: (sa) => (sa.metadata.name === 'default' ? inNamespace(sa) : []) },
      { key: R.configmaps, map: (cm) => (cm.metadata.name === ROOT_CA ? inNamespace(cm) : []) },
    ],
    async reconcile(_ns, name) {
      const ns = await api.get(R.namespaces, undefined, name);
      if (!ns || isTerminating(ns) || ns.status?.phase === 'Terminating') return;
      const tolerate = async (p: Promise<unknown>): Promise<void> => {
        try {
          await p;
        } catch (err) {
          // Already there, or the namespace started terminating meanwhile.
          const code = errorCode(err);
          if (code !== 409 && code !== 403 && code !== 404) throw err;
        }
      };
      if (!(await api.get(R.serviceaccounts, name, 'default'))) {
        await tolerate(api.create(R.serviceaccounts, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: name } }));
      }
      const cm = await api.get(R.configmaps, name, ROOT_CA);
      if (!cm) {
        await tolerate(
          api.create(R.configmaps, {
            apiVersion: 'v1',
            kind: 'ConfigMap',
            metadata: { name: ROOT_CA, namespace: name, annotations: { 'kubernetes.io/description': 'Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.' } },
            data: { 'ca.crt': caCert },
          }),
        );
      } else if (cm.data?.['ca.crt'] !== caCert) {
        await api.update(R.configmaps, { ...cm, data: { ...(cm.data ?? {}), 'ca.crt': caCert } });
      }
    },
  };
}
