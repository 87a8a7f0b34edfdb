/**
 * A throwaway certificate authority and a server certificate for a sandbox
 * API server, made at start so no key material lives in the repository.
 */
import forge from 'node-forge';

export interface Pki {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
}

function serial(): string {
  // Positive, 16 bytes: some TLS stacks reject negative serials.
  return '01' + forge.util.bytesToHex(forge.random.getBytesSync(15));
}

/** A CA and a server certificate valid for `hosts` plus 127.0.0.1 and localhost. */
export function createPki(hosts: string[]): Pki {
  const now = new Date(Date.now() - 60_000);
  const later = new Date(now.getTime() + 365 * 24 * 3600 * 1000);
  const caKeys = forge.pki.rsa.generateKeyPair(2048);
  const ca = forge.pki.createCertificate();
  ca.publicKey = caKeys.publicKey;
  ca.serialNumber = serial();
  ca.validity.notBefore = now;
  ca.validity.notAfter = later;
  const caName = [{ name: 'commonName', value: 'sandbox-ca' }];
  ca.setSubject(caName);
  ca.setIssuer(caName);
  ca.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  ca.sign(caKeys.privateKey, forge.md.sha256.create());

  const keys = forge.pki.rsa.generateKeyPair(2048);
  const cert = forge.pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  cert.validity.notBefore = now;
  cert.validity.notAfter = later;
  cert.setSubject([{ name: 'commonName', value: 'kube-apiserver' }]);
  cert.setIssuer(caName);
  const all = [...new Set(['127.0.0.1', 'localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', '10.96.0.1', ...hosts])];
  const altNames = all.map((h) => (/^\d+\.\d+\.\d+\.\d+$/.test(h) || h.includes(':') ? { type: 7, ip: h } : { type: 2, value: h }));
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true },
    { name: 'subjectAltName', altNames },
  ]);
  cert.sign(caKeys.privateKey, forge.md.sha256.create());
  return {
    caCert: forge.pki.certificateToPem(ca),
    caKey: forge.pki.privateKeyToPem(caKeys.privateKey),
    serverCert: forge.pki.certificateToPem(cert),
    serverKey: forge.pki.privateKeyToPem(keys.privateKey),
  };
}
