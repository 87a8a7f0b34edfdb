/**
 * A real etcd (Debian's etcd-server, 3.4) for tests: free loopback ports,
 * a temporary data directory, stopped and removed afterwards. With `tls` it
 * serves HTTPS and requires a client certificate signed by its own CA.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import forge from 'node-forge';
import { createPki } from '../sandbox/pki';
import { freePort } from './ports';

/** PEM files of a TLS etcd: its CA, and a client certificate and key it accepts. */
export interface EtcdTlsFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
}

export interface RunningEtcd {
  endpoint: string;
  dataDir: string;
  /** Present when started with `tls`. */
  tls?: EtcdTlsFiles;
  stop(): Promise<void>;
}

export interface EtcdOptions {
  /** Serve HTTPS and require client certificates (--client-cert-auth). */
  tls?: boolean;
  /** Use this data directory (kept on stop) instead of a new empty one: for restore drills. */
  dataDir?: string;
}

/** A client certificate (CN "root") signed by the CA of `pki`. */
function clientCertificate(caCertPem: string, caKeyPem: string): { cert: string; key: string } {
  const caCert = forge.pki.certificateFromPem(caCertPem);
  const caKey = forge.pki.privateKeyFromPem(caKeyPem);
  const keys = forge.pki.rsa.generateKeyPair(2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = '01' + forge.util.bytesToHex(forge.random.getBytesSync(15));
  cert.validity.notBefore = new Date(Date.now() - 60_000);
  cert.validity.notAfter = new Date(Date.now() + 365 * 24 * 3600 * 1000);
  cert.setSubject([{ name: 'commonName', value: 'root' }]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', clientAuth: true },
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return { cert: forge.pki.certificateToPem(cert), key: forge.pki.privateKeyToPem(keys.privateKey) };
}

async function healthy(endpoint: string, tls?: { ca: string; cert: string; key: string }): Promise<boolean> {
  if (tls) {
    return new Promise((resolve) => {
      const req = request(`${endpoint}/health`, { ...tls, timeout: 2000 }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(body.includes('"health":"true"')));
        res.on('error', () => resolve(false));
      });
      req.on('error', () => resolve(false));
      req.on('timeout', () => req.destroy());
      req.end();
    });
  }
  try {
    const res = await fetch(`${endpoint}/health`);
    const body = (await res.json()) as { health?: string };
    return body.health === 'true';
  } catch {
    return false;
  }
}

export async function startEtcd(options: EtcdOptions = {}): Promise<RunningEtcd> {
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'etcd-')));
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const endpoint = `${options.tls ? 'https' : 'http'}://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  let tls: EtcdTlsFiles | undefined;
  let tlsDir: string | undefined;
  let pem: { ca: string; cert: string; key: string } | undefined;
  const tlsArgs: string[] = [];
  if (options.tls) {
    tlsDir = await mkdtemp(join(tmpdir(), 'etcd-pki-'));
    const pki = createPki(['127.0.0.1']);
    const client = clientCertificate(pki.caCert, pki.caKey);
    tls = { caFile: join(tlsDir, 'ca.crt'), certFile: join(tlsDir, 'client.crt'), keyFile: join(tlsDir, 'client.key') };
    const serverCert = join(tlsDir, 'server.crt');
    const serverKey = join(tlsDir, 'server.key');
    await writeFile(tls.caFile, pki.caCert);
    await writeFile(tls.certFile, client.cert);
    await writeFile(tls.keyFile, client.key, { mode: 0o600 });
    await writeFile(serverCert, pki.serverCert);
    await writeFile(serverKey, pki.serverKey, { mode: 0o600 });
    pem = { ca: pki.caCert, cert: client.cert, key: client.key };
    tlsArgs.push('--cert-file', serverCert, '--key-file', serverKey, '--client-cert-auth', '--trusted-ca-file', tls.caFile);
  }
  let output = '';
  const child: ChildProcess = spawn(
    'etcd',
    [
      ...tlsArgs,
      '--name', 'sandbox',
      '--data-dir', dataDir,
      '--listen-client-urls', endpoint,
      '--advertise-client-urls', endpoint,
      '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `sandbox=${peer}`,
      '--initial-cluster-state', 'new',
      '--logger', 'zap',
      '--log-outputs', 'stderr',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ETCD_UNSUPPORTED_ARCH: process.env.ETCD_UNSUPPORTED_ARCH ?? '' } },
  );
  child.stderr!.on('data', (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  const stop = async (): Promise<void> => {
    if (!exited) {
      const gone = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await gone;
      clearTimeout(timer);
    }
    if (!options.dataDir) await rm(dataDir, { recursive: true, force: true });
    if (tlsDir) await rm(tlsDir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 30_000;
  while (!(await healthy(endpoint, pem))) {
    if (exited || Date.now() > deadline) {
      await stop();
      throw new Error(`etcd did not become healthy on ${endpoint}${exited ? ' (it exited)' : ''}; its last output:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { endpoint, dataDir, ...(tls ? { tls } : {}), stop };
}
