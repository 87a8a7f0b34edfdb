import { ResponseError } from 'vscode-jsonrpc';
import { openKubeClient } from '../../engine/kube';
import { KubeUnreachableError } from '../../engine/kube/types';
import { ClusterErrorCodes, type ClusterObjectParams, type ClusterObjectResult } from '../../protocol/worker';
import type { ClusterRequestContext } from './cluster';
import { objectYaml } from './objectYaml';

/** The live object of a cluster as YAML, the other side of "compare with live". */

const ANSWER_TIMEOUT_MS = 30_000;

export async function clusterObject(params: ClusterObjectParams, ctx: ClusterRequestContext): Promise<ClusterObjectResult> {
  const timeout = AbortSignal.timeout(ANSWER_TIMEOUT_MS);
  const signal = AbortSignal.any([ctx.signal, timeout]);
  const { group, kind, namespace, name } = params.object;
  const client = await openKubeClient({ kubeconfig: params.kubeconfig, context: params.context });
  try {
    const resource = (await client.discover({ signal })).find((r) => r.group === group && r.kind === kind);
    if (!resource) {
      throw new Error(`${params.context} does not serve ${kind}${group ? ` of the group ${group}` : ''}: install its CRD before comparing`);
    }
    const obj = await client.get(resource, name, resource.namespaced ? namespace : undefined, { signal });
    return obj ? objectYaml(obj) : { redacted: false };
  } catch (err) {
    if (timeout.aborted && !ctx.signal.aborted) {
      throw new ResponseError(ClusterErrorCodes.unreachable, `${params.context}: the API server did not answer within ${ANSWER_TIMEOUT_MS / 1000}s; check that the cluster is running`);
    }
    if (err instanceof KubeUnreachableError) throw new ResponseError(ClusterErrorCodes.unreachable, err.message);
    throw err;
  } finally {
    client.close();
  }
}
