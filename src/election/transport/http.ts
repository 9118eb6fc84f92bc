/**
 * The peer transport over HTTP(S) on node.peerListen, a listener apart from the public
 * one so public traffic cannot starve the election (docs/design.md §2, §7 "peer protocol under
 * /internal/"; issue 8, defect 9). With https:// peer URLs every link is TLS, checked
 * against node.tls.ca (issue 8, defect 6):
 *
 *   POST /internal/message  one signed election message; answered 204 once the core has
 *                           stepped it, or 4xx with the rejection reason (counted in
 *                           vigil_peer_messages_rejected_total{reason}; never stepped).
 *   POST /internal/stream   a signed request whose response the server holds open for as
 *                           long as both processes live: the crash detector.
 *
 * Fast crash detection: every replica keeps one stream open to every peer. When a stream
 * closes or resets, the link reconnects at once. "Connection refused" on that attempt
 * means nothing listens on the peer's port any more — its process is gone while its host
 * answers — and only then is `onConnectionLost` reported. Reconnects then back off, but
 * the first authenticated request from that peer (a restarted process opens its streams
 * at once) cuts the wait short, so `onConnectionRestored` follows the restart within a
 * round trip. A hung or paused peer keeps its sockets open, so it is never reported;
 * timeouts stay the core's business, and a connect timeout here only delays the next
 * attempt.
 *
 * Messages go out on a keep-alive agent per peer (one loopback round trip ≈ 1 ms), each
 * bounded by a request timeout; at most `maxInFlightPerPeer` are outstanding per peer
 * (more are dropped, as a lossy network would), so a paused peer cannot pile up sockets.
 * Nothing here blocks the event loop.
 */
import type * as http from 'node:http';
import type { PeerConfig, NodeTlsConfig } from '../../config/types';
import type { Logger } from '../../log';
import type { Metrics } from '../../metrics';
import type { HttpServer, RequestContext } from '../../http/server';
import { HttpError, readBody, sendError } from '../../http/respond';
import { clientScheme, defaultPort, type ClientScheme } from '../../http/tls';
import { systemClock, type Clock } from '../../util/clock';
import type { Message, NodeId } from '../types';
import { createSigner, MAX_PEER_BODY_BYTES, NonceCache, rejectStatus, SIGNATURE_HEADER, verifyEnvelope, type Signer } from './envelope';
import type { PeerLinkStatus, PeerTransport, RejectReason, TransportHandler } from './types';

export interface HttpTransportOptions {
  readonly selfId: NodeId;
  /** Every replica, this one included (config `peers`). */
  readonly peers: readonly PeerConfig[];
  readonly secret: string;
  readonly maxClockSkewMs: number;
  /** Trust for https:// peer URLs (node.tls). */
  readonly tls?: NodeTlsConfig;
  /** The replica's peer server; the transport registers its /internal/ routes on it. */
  readonly server: HttpServer;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly clock?: Clock;
  /** Per message request, from send to response (default 1000 ms). */
  readonly requestTimeoutMs?: number;
  readonly maxInFlightPerPeer?: number;
  /** Connecting a stream, until the response headers (default 2000 ms). */
  readonly streamConnectTimeoutMs?: number;
  /** Retry delays after a failed stream attempt: doubling from min to max (default 25 → 1000 ms). */
  readonly reconnectMinDelayMs?: number;
  readonly reconnectMaxDelayMs?: number;
}

const ROUTE_METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'] as const;
/** One warning per reason per this interval; every rejection is still counted. */
const REJECT_WARN_INTERVAL_MS = 10_000;
/** Longest a vote request waits for a crash probe (a probe of a hung host can take the connect timeout). */
const MAX_VOTE_HOLD_MS = 20;

export class HttpPeerTransport implements PeerTransport {
  private handler: TransportHandler | null = null;
  private readonly links = new Map<NodeId, PeerLink>();
  private readonly peerIds: ReadonlySet<NodeId>;
  private readonly nonces: NonceCache;
  private readonly signer: Signer;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly openStreams = new Set<http.ServerResponse>();
  private readonly lastWarnMs = new Map<RejectReason, number>();
  /** Vote requests held while a crash probe is in flight (see deliverVoteRequest). */
  private readonly held: Array<() => void> = [];
  private heldTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly opts: HttpTransportOptions) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.logger.child({ component: 'transport' });
    this.peerIds = new Set(opts.peers.map((p) => p.id).filter((id) => id !== opts.selfId));
    this.nonces = new NonceCache(opts.maxClockSkewMs);
    this.signer = createSigner({ selfId: opts.selfId, secret: opts.secret, wallMs: () => this.clock.wallMs() });
    for (const reason of ['oversized', 'unsigned', 'bad-signature', 'malformed', 'unknown-sender', 'wrong-recipient', 'stale-timestamp', 'replay', 'not-found'] as const) {
      opts.metrics.peerMessagesRejected.inc({ reason }, 0); // every series exists from the start
    }
    opts.server.route('POST', '/internal/message', (ctx) => this.onMessageRequest(ctx));
    opts.server.route('POST', '/internal/stream', (ctx) => this.onStreamRequest(ctx));
    for (const method of ROUTE_METHODS) {
      opts.server.route(method, '/internal/*', (ctx) => {
        ctx.req.resume();
        this.reject(ctx, 'not-found', `no peer endpoint ${ctx.url.pathname}`);
      });
    }
    for (const peer of opts.peers) {
      if (peer.id === opts.selfId) continue;
      this.links.set(peer.id, new PeerLink(peer, this, opts));
    }
  }

  start(handler: TransportHandler): void {
    this.handler = handler;
    for (const link of this.links.values()) link.connect();
  }

  send(to: NodeId, message: Message): void {
    this.links.get(to)?.send(message);
  }

  peers(): readonly PeerLinkStatus[] {
    return [...this.links.values()].map((l) => ({ id: l.id, url: l.url, connected: l.connected }));
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const link of this.links.values()) link.close();
    for (const res of this.openStreams) res.destroy();
    this.openStreams.clear();
    clearTimeout(this.heldTimer);
    this.held.length = 0;
  }

  // ---- used by PeerLink

  /** @internal */
  sign(kind: 'message' | 'stream', to: NodeId, message?: Message): { body: Buffer; signature: string } {
    return this.signer.sign(kind, to, message);
  }

  /** @internal */
  report(kind: 'lost' | 'restored', peer: NodeId): void {
    if (this.closed || this.handler === null) return;
    if (kind === 'lost') this.handler.onConnectionLost(peer);
    else this.handler.onConnectionRestored(peer);
  }

  /** @internal */
  get logger(): Logger {
    return this.log;
  }

  // ---- server side

  private async readPeerBody(ctx: RequestContext): Promise<Buffer | null> {
    try {
      return await readBody(ctx.req, MAX_PEER_BODY_BYTES);
    } catch (err) {
      if (err instanceof HttpError && err.status === 413) {
        ctx.res.setHeader('Connection', 'close');
        this.reject(ctx, 'oversized', `body over ${MAX_PEER_BODY_BYTES} bytes`);
        return null;
      }
      throw err;
    }
  }

  private verify(kind: 'message' | 'stream', ctx: RequestContext, body: Buffer) {
    const header = ctx.req.headers[SIGNATURE_HEADER];
    return verifyEnvelope(kind, body, typeof header === 'string' ? header : undefined, {
      selfId: this.opts.selfId,
      secret: this.opts.secret,
      peerIds: this.peerIds,
      maxClockSkewMs: this.opts.maxClockSkewMs,
      nowWallMs: this.clock.wallMs(),
      nonces: this.nonces,
    });
  }

  private async onMessageRequest(ctx: RequestContext): Promise<void> {
    const body = await this.readPeerBody(ctx);
    if (body === null) return;
    const v = this.verify('message', ctx, body);
    if (!v.ok) return this.reject(ctx, v.reason, v.detail);
    const { from, message } = v;
    this.links.get(from)?.heardFrom();
    if (message !== null) {
      if (message.type === 'vote-request') this.deliverVoteRequest(from, message);
      else this.deliver(from, message);
    }
    ctx.res.writeHead(204).end();
  }

  private deliver(from: NodeId, message: Message): void {
    if (!this.closed && this.handler !== null) this.handler.onMessage(from, message);
  }

  /**
   * When a leader dies, its followers' streams drop at the same instant, but a follower
   * may read a candidate's (pre-)vote request before its own stream's close: it would
   * still honour the dead leader's lease and refuse. So a vote request waits for the end
   * of the current I/O batch (setImmediate), and then for any crash probe in flight (a
   * reconnect after a drop, normally < 1 ms on a live host), at most MAX_VOTE_HOLD_MS.
   * Delaying a message is always safe: the network may do the same.
   */
  private deliverVoteRequest(from: NodeId, message: Message): void {
    setImmediate(() => {
      if (!this.probing()) {
        this.deliver(from, message);
        return;
      }
      this.held.push(() => this.deliver(from, message));
      if (this.heldTimer === undefined) this.heldTimer = setTimeout(() => this.releaseHeld(), MAX_VOTE_HOLD_MS);
    });
  }

  private probing(): boolean {
    for (const link of this.links.values()) if (link.probing) return true;
    return false;
  }

  /** @internal A crash probe finished: release held vote requests if none is left. */
  probeSettled(): void {
    if (this.held.length > 0 && !this.probing()) this.releaseHeld();
  }

  private releaseHeld(): void {
    clearTimeout(this.heldTimer);
    this.heldTimer = undefined;
    const held = this.held.splice(0);
    for (const fn of held) fn();
  }

  private async onStreamRequest(ctx: RequestContext): Promise<void> {
    const body = await this.readPeerBody(ctx);
    if (body === null) return;
    const v = this.verify('stream', ctx, body);
    if (!v.ok) return this.reject(ctx, v.reason, v.detail);
    this.links.get(v.from)?.heardFrom();
    if (this.closed) {
      sendError(ctx.res, 503, 'SHUTTING_DOWN', 'this replica is shutting down');
      return;
    }
    const res = ctx.res;
    ctx.req.socket.setNoDelay(true);
    res.writeHead(200, { 'Content-Type': 'application/x-ndjson', 'Cache-Control': 'no-store' });
    // Held open until one side goes away. The line says who answered and its wall clock
    // (`vigil doctor` measures the clock offset between replicas with it); links ignore it.
    res.write(`${JSON.stringify({ id: this.opts.selfId, ts: this.clock.wallMs() })}\n`);
    this.openStreams.add(res);
    res.on('close', () => this.openStreams.delete(res));
  }

  private reject(ctx: RequestContext, reason: RejectReason, detail: string): void {
    this.opts.metrics.peerMessagesRejected.inc({ reason });
    const nowMs = this.clock.monotonicMs();
    const last = this.lastWarnMs.get(reason);
    if (last === undefined || nowMs - last >= REJECT_WARN_INTERVAL_MS) {
      this.lastWarnMs.set(reason, nowMs);
      this.log.warn({ reason, detail, remote: ctx.req.socket.remoteAddress, path: ctx.url.pathname }, 'peer request rejected (further ones of this reason are only counted for 10 s)');
    }
    sendError(ctx.res, rejectStatus(reason), 'PEER_REJECTED', `${reason}: ${detail}`);
  }
}

/** One peer: its message agent and its crash-detection stream. */
class PeerLink {
  readonly id: NodeId;
  readonly url: string;
  connected = false;
  /** The stream dropped and the reconnect that tells "process gone" from "alive" is in flight. */
  probing = false;
  private readonly host: string;
  private readonly port: number;
  private readonly basePath: string;
  private readonly scheme: ClientScheme;
  private readonly agent: http.Agent;
  private inFlight = 0;
  private stream: http.ClientRequest | null = null;
  private attempt = 0;
  private lostReported = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs = 0;
  private closed = false;
  private lastSendWarnMs = -Infinity;
  private readonly requestTimeoutMs: number;
  private readonly maxInFlight: number;
  private readonly connectTimeoutMs: number;
  private readonly minDelayMs: number;
  private readonly maxDelayMs: number;

  constructor(peer: PeerConfig, private readonly transport: HttpPeerTransport, opts: HttpTransportOptions) {
    this.id = peer.id;
    this.url = peer.url;
    // The peer listener; a config without peerUrl has a single replica and no links.
    const u = new URL(peer.peerUrl ?? peer.url);
    this.host = u.hostname.replace(/^\[(.*)\]$/, '$1');
    this.port = u.port === '' ? defaultPort(u) : Number(u.port);
    this.scheme = clientScheme(u, opts.tls);
    this.basePath = u.pathname.replace(/\/+$/, '');
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 1000;
    this.maxInFlight = opts.maxInFlightPerPeer ?? 32;
    this.connectTimeoutMs = opts.streamConnectTimeoutMs ?? 2000;
    this.minDelayMs = opts.reconnectMinDelayMs ?? 25;
    this.maxDelayMs = opts.reconnectMaxDelayMs ?? 1000;
    // Idle sockets are closed by us after 30 s, before the server's 65 s, so a request
    // never goes out on a socket the server is closing.
    this.agent = this.scheme.agent({ keepAlive: true, timeout: 30_000, scheduling: 'lifo' });
  }

  send(message: Message, retried = false): void {
    if (this.closed) return;
    if (this.inFlight >= this.maxInFlight) return; // a lossy network; the core resends what matters
    const { body, signature } = this.transport.sign('message', this.id, message);
    this.inFlight++;
    const req = this.scheme.request({
      host: this.host,
      port: this.port,
      method: 'POST',
      path: `${this.basePath}/internal/message`,
      agent: this.agent,
      headers: { 'Content-Type': 'application/json', 'Content-Length': body.length, [SIGNATURE_HEADER]: signature },
    });
    // Without TCP_NODELAY a small request can wait for a delayed ACK (40 ms on Linux).
    req.on('socket', (socket) => socket.setNoDelay(true));
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${this.requestTimeoutMs} ms`)), this.requestTimeoutMs);
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      this.inFlight--;
    };
    req.on('response', (res) => {
      if (res.statusCode !== 204) this.warnSend(`peer answered ${res.statusCode ?? '?'}`, res);
      res.resume();
      res.on('end', finish);
      res.on('close', finish);
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      finish();
      // A kept-alive socket the peer closed just before we reused it: resend once, signed
      // anew (the old nonce may have reached the peer).
      if (!retried && req.reusedSocket && err.code === 'ECONNRESET') this.send(message, true);
    });
    req.on('close', finish);
    req.end(body);
  }

  private warnSend(what: string, res?: http.IncomingMessage): void {
    const nowMs = performance.now();
    if (nowMs - this.lastSendWarnMs < REJECT_WARN_INTERVAL_MS) return;
    this.lastSendWarnMs = nowMs;
    let text = '';
    res?.setEncoding('utf8');
    res?.on('data', (c: string) => {
      if (text.length < 500) text += c;
    });
    res?.on('end', () => this.transport.logger.warn({ peer: this.id, answer: text.slice(0, 500) }, `message to peer not accepted: ${what}`));
    if (!res) this.transport.logger.warn({ peer: this.id }, `message to peer not accepted: ${what}`);
  }

  /** Opens the stream; every outcome ends in `streamEnded`. */
  connect(): void {
    if (this.closed || this.stream !== null) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const attempt = ++this.attempt;
    const { body, signature } = this.transport.sign('stream', this.id);
    const req = this.scheme.request({
      host: this.host,
      port: this.port,
      method: 'POST',
      path: `${this.basePath}/internal/stream`,
      agent: false,
      headers: { 'Content-Type': 'application/json', 'Content-Length': body.length, [SIGNATURE_HEADER]: signature },
    });
    this.stream = req;
    const timer = setTimeout(() => req.destroy(Object.assign(new Error('stream connect timed out'), { code: 'VIGIL_TIMEOUT' })), this.connectTimeoutMs);
    req.on('socket', (socket) => socket.setNoDelay(true));
    req.on('response', (res) => {
      clearTimeout(timer);
      if (res.statusCode !== 200) {
        this.warnSend(`stream refused with ${res.statusCode ?? '?'}`, res);
        res.resume();
        this.streamEnded(attempt, 'rejected');
        return;
      }
      this.connected = true;
      this.settleProbe();
      this.retryDelayMs = 0;
      this.transport.logger.info({ peer: this.id }, 'peer stream connected');
      if (this.lostReported) {
        this.lostReported = false;
        this.transport.report('restored', this.id);
      }
      res.on('data', () => undefined);
      res.on('close', () => this.streamEnded(attempt, 'dropped'));
      res.on('error', () => this.streamEnded(attempt, 'dropped'));
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      this.streamEnded(attempt, err.code === 'ECONNREFUSED' ? 'refused' : 'failed');
    });
    req.on('close', () => {
      clearTimeout(timer);
      // 'close' without a response or error: treat as a drop of whatever we had.
      this.streamEnded(attempt, this.connected ? 'dropped' : 'failed');
    });
    req.end(body);
  }

  private streamEnded(attempt: number, outcome: 'dropped' | 'refused' | 'failed' | 'rejected'): void {
    if (attempt !== this.attempt || this.stream === null) return; // already handled
    const stream = this.stream;
    this.stream = null;
    stream.destroy();
    const wasConnected = this.connected;
    this.connected = false;
    if (this.closed) return;
    if (outcome === 'refused') {
      if (!this.lostReported) {
        this.lostReported = true;
        this.transport.logger.warn({ peer: this.id }, 'peer process gone: connection refused');
        this.transport.report('lost', this.id);
      }
      this.settleProbe();
      this.retryLater();
      return;
    }
    if (wasConnected) {
      // docs/design.md §2: a dropped stream is checked at once; the next attempt tells a dead
      // process (refused) from a live one (accepted) or a hung host (no answer).
      this.transport.logger.info({ peer: this.id }, 'peer stream dropped; reconnecting');
      this.probing = true;
      this.connect();
      return;
    }
    this.settleProbe();
    this.retryLater();
  }

  /**
   * An authenticated request from this peer arrived. If we last found its port refusing
   * (process gone) and are waiting out a reconnect backoff, it has restarted: reconnect now
   * rather than up to reconnectMaxDelayMs later, so the core hears `connection-restored`
   * within a round trip of the peer's start (issue 8, defect 13). Only after a refusal: a
   * link failing for other reasons keeps its backoff however chatty the peer is.
   */
  heardFrom(): void {
    if (this.closed || !this.lostReported || this.stream !== null || this.retryTimer === undefined) return;
    this.retryDelayMs = 0;
    this.connect(); // clears the retry timer
  }

  private settleProbe(): void {
    if (!this.probing) return;
    this.probing = false;
    this.transport.probeSettled();
  }

  private retryLater(): void {
    if (this.closed || this.retryTimer !== undefined) return;
    this.retryDelayMs = this.retryDelayMs === 0 ? this.minDelayMs : Math.min(this.maxDelayMs, this.retryDelayMs * 2);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect();
    }, this.retryDelayMs);
  }

  close(): void {
    this.closed = true;
    this.probing = false;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.stream?.destroy();
    this.stream = null;
    this.connected = false;
    this.agent.destroy();
  }
}
