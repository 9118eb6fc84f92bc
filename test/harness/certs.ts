/**
 * A throw-away certificate authority for TLS tests, made with the `openssl` CLI in a temp
 * directory: a CA, a server certificate for 127.0.0.1/localhost and a client certificate,
 * all signed by the CA. Short-lived (2 days) and removed at shutdown.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { onExitCleanup } from './procs';

export interface TestCerts {
  readonly dir: string;
  /** PEM file paths. */
  readonly caFile: string;
  readonly serverCertFile: string;
  readonly serverKeyFile: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  /** Removes the directory. Idempotent. */
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  try {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
    throw new Error(`openssl ${args.join(' ')} failed: ${stderr || String(err)}`);
  }
}

/** Issues a leaf certificate `<name>.pem` / `<name>.key` signed by the CA in `dir`. */
function issue(dir: string, name: string, subject: string, extensions: string[]): void {
  const ext = path.join(dir, `${name}.ext`);
  fs.writeFileSync(ext, `${['basicConstraints=CA:FALSE', ...extensions].join('\n')}\n`);
  openssl(dir, ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject]);
  openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', ext]);
}

export function makeTestCerts(): TestCerts {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-certs-'));
  let removed = false;
  const unregister = onExitCleanup(() => fs.rmSync(dir, { recursive: true, force: true }));
  const remove = (): void => {
    if (removed) return;
    removed = true;
    unregister();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    openssl(dir, [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=vigil test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    issue(dir, 'server', '/CN=localhost', ['subjectAltName=IP:127.0.0.1,DNS:localhost']);
    issue(dir, 'client', '/CN=vigil', []);
  } catch (err) {
    remove();
    throw err;
  }
  return {
    dir,
    caFile: path.join(dir, 'ca.pem'),
    serverCertFile: path.join(dir, 'server.pem'),
    serverKeyFile: path.join(dir, 'server.key'),
    clientCertFile: path.join(dir, 'client.pem'),
    clientKeyFile: path.join(dir, 'client.key'),
    remove,
  };
}
