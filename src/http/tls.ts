/**
 * TLS for vigil's own HTTP (issue 8, defect 6): the peer protocol, forwarding to the
 * leader and the listeners. One place decides, from a URL's scheme and node.tls, whether
 * a connection is plain HTTP or TLS; a https:// URL never falls back to plaintext.
 *
 * Peers authenticate each other with the HMAC envelope (docs/design.md §2); TLS adds privacy and
 * the server's identity: a client checks the server's certificate against node.tls.ca
 * (system CAs when no ca is configured) and its name against the URL's host.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { NodeTlsConfig } from '../config/types';

export interface ClientScheme {
  readonly secure: boolean;
  /** Issues a request with this scheme's module and trust settings. */
  request(options: http.RequestOptions): http.ClientRequest;
  /** A connection pool for this scheme. */
  agent(options: http.AgentOptions): http.Agent;
}

/** How to reach `url`. A https URL without node.tls trusts the system CAs only. */
export function clientScheme(url: string | URL, tls: NodeTlsConfig | undefined): ClientScheme {
  const protocol = (typeof url === 'string' ? new URL(url) : url).protocol;
  if (protocol === 'http:') {
    return { secure: false, request: (o) => http.request(o), agent: (o) => new http.Agent(o) };
  }
  if (protocol !== 'https:') throw new Error(`unsupported scheme ${protocol} (expected http: or https:)`);
  const trust: { ca?: string } = tls?.ca === undefined ? {} : { ca: tls.ca };
  return {
    secure: true,
    request: (o) => https.request({ ...o, ...trust }),
    agent: (o) => new https.Agent({ ...o, ...trust }),
  };
}

/** The default port of a URL's scheme when it names none. */
export function defaultPort(url: URL): number {
  return url.protocol === 'https:' ? 443 : 80;
}

/** A plain or TLS node:http(s) server for a listener, with vigil's handler. */
export function createListenerServer(tls: NodeTlsConfig | undefined, handshakeTimeoutMs: number, handler: http.RequestListener): http.Server {
  // Header and request timeouts are checked this often (Node's default, 30 s, let slow
  // clients hold a connection for ~20 s past their deadline).
  const base: http.ServerOptions = { noDelay: true, connectionsCheckingInterval: 500 };
  return tls === undefined
    ? http.createServer(base, handler)
    : https.createServer({ ...base, cert: tls.cert, key: tls.key, handshakeTimeout: handshakeTimeoutMs }, handler);
}
