import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

/** PEM files for a private TLS setup: a CA, a server certificate for localhost/127.0.0.1, a client certificate. */
export interface TlsFiles {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

// One `openssl` run; its chatter goes nowhere, its failure throws.
function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Makes a CA named `name` and a certificate pair it signed, all in `dir` (prefixed with `name`). */
export function createCertificates(dir: string, name = 'test'): TlsFiles {
  const file = (suffix: string) => path.join(dir, `${name}-${suffix}`);
  const files: TlsFiles = {
    caCert: file('ca.crt'),
    caKey: file('ca.key'),
    serverCert: file('server.crt'),
    serverKey: file('server.key'),
    clientCert: file('client.crt'),
    clientKey: file('client.key'),
  };
  const ext = file('san.ext');
  writeFileSync(ext, 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  const key = ['-newkey', 'rsa:2048', '-nodes'];
  openssl(
    ['req', '-x509', ...key, '-keyout', files.caKey, '-out', files.caCert, '-days', '2', '-subj', `/CN=${name} CA`],
    dir,
  );
  for (const [role, cert, certKey, extra] of [
    ['server', files.serverCert, files.serverKey, ['-extfile', ext]],
    ['client', files.clientCert, files.clientKey, []],
  ] as const) {
    const csr = file(`${role}.csr`);
    openssl(['req', ...key, '-keyout', certKey, '-out', csr, '-subj', `/CN=${name} ${role}`], dir);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        files.caCert,
        '-CAkey',
        files.caKey,
        '-CAcreateserial',
        '-out',
        cert,
        '-days',
        '2',
        ...extra,
      ],
      dir,
    );
  }
  return files;
}
