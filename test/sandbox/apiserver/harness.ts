/**
 * A sandbox API server wired for tests: fresh PKI, users `admin`
 * (system:masters) and `restricted`, a kubeconfig with one context per user
 * in a temporary directory, and a runner for the machine's real kubectl.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { renderKubeconfig } from '../kubeconfig';
import { createPki, type Pki } from '../pki';
import { startApiServer, type ApiServer, type ApiServerOptions } from './server';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface TestCluster {
  server: ApiServer;
  pki: Pki;
  kubeconfig: string;
  dir: string;
  tokens: { admin: string; restricted: string };
  /** Runs kubectl against the cluster; `context` picks the user (default admin). */
  kubectl(args: string[], opts?: { context?: 'admin' | 'restricted'; stdin?: string; timeoutMs?: number }): Promise<KubectlResult>;
  stop(): Promise<void>;
}

export async function startTestCluster(storage: ApiServerOptions['storage'] = 'memory', name = 'sandbox'): Promise<TestCluster> {
  const pki = createPki([]);
  const tokens = { admin: randomBytes(16).toString('hex'), restricted: randomBytes(16).toString('hex') };
  const server = await startApiServer({
    name,
    storage,
    tls: { cert: pki.serverCert, key: pki.serverKey },
    caCert: pki.caCert,
    tokens: { [tokens.admin]: { user: 'admin', groups: ['system:masters'] }, [tokens.restricted]: { user: 'restricted', groups: [] } },
  });
  const dir = mkdtempSync(join(tmpdir(), 'sandbox-api-'));
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    renderKubeconfig(
      [
        { context: 'admin', cluster: name, server: server.url, caCert: pki.caCert, user: 'admin', token: tokens.admin },
        { context: 'restricted', cluster: name, server: server.url, caCert: pki.caCert, user: 'restricted', token: tokens.restricted },
      ],
      'admin',
    ),
    { mode: 0o600 },
  );
  const kubectl = (args: string[], opts: { context?: 'admin' | 'restricted'; stdin?: string; timeoutMs?: number } = {}): Promise<KubectlResult> =>
    new Promise((resolve, reject) => {
      const child = spawn('kubectl', ['--kubeconfig', kubeconfig, '--context', opts.context ?? 'admin', ...args], {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: { ...process.env, HOME: dir, KUBECACHEDIR: join(dir, 'cache') },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
      child.on('error', reject);
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, stdout, stderr });
      });
      child.stdin.end(opts.stdin ?? '');
    });
  return {
    server,
    pki,
    kubeconfig,
    dir,
    tokens,
    kubectl,
    async stop(): Promise<void> {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
