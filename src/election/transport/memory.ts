/**
 * In-memory transport for unit tests of the driver: a network of named endpoints whose
 * messages are queued and delivered by `deliverAll()` (or on a microtask with
 * `autoDeliver`), with drop filters and crash notifications. Never used in production.
 */
import type { Message, NodeId } from '../types';
import type { PeerLinkStatus, PeerTransport, TransportHandler } from './types';

export interface SentMessage {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly message: Message;
}

export class MemoryNetwork {
  readonly log: SentMessage[] = [];
  private readonly endpoints = new Map<NodeId, MemoryTransport>();
  private queue: SentMessage[] = [];
  private readonly down = new Set<NodeId>();
  /** Return false to drop a message. */
  filter: (m: SentMessage) => boolean = () => true;

  constructor(readonly ids: readonly NodeId[]) {}

  transportFor(id: NodeId): MemoryTransport {
    const t = new MemoryTransport(id, this);
    this.endpoints.set(id, t);
    this.down.delete(id);
    return t;
  }

  /** @internal */
  enqueue(m: SentMessage): void {
    this.log.push(m);
    this.queue.push(m);
  }

  /** Delivers queued messages (and those they cause) until none are left; returns how many. */
  deliverAll(maxRounds = 1000): number {
    let n = 0;
    for (let round = 0; round < maxRounds && this.queue.length > 0; round++) {
      const batch = this.queue;
      this.queue = [];
      for (const m of batch) {
        if (this.down.has(m.from) || this.down.has(m.to) || !this.filter(m)) continue;
        this.endpoints.get(m.to)?.deliver(m.from, m.message);
        n++;
      }
    }
    return n;
  }

  /** The process of `id` died: every other endpoint sees its connection refused. */
  crash(id: NodeId): void {
    this.down.add(id);
    this.endpoints.delete(id);
    for (const [other, t] of this.endpoints) if (other !== id) t.lost(id);
  }
}

export class MemoryTransport implements PeerTransport {
  private handler: TransportHandler | null = null;
  private closed = false;

  constructor(readonly id: NodeId, private readonly network: MemoryNetwork) {}

  start(handler: TransportHandler): void {
    this.handler = handler;
  }

  send(to: NodeId, message: Message): void {
    if (!this.closed) this.network.enqueue({ from: this.id, to, message });
  }

  peers(): readonly PeerLinkStatus[] {
    return this.network.ids.filter((p) => p !== this.id).map((p) => ({ id: p, url: `memory://${p}`, connected: true }));
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  /** @internal */
  deliver(from: NodeId, message: Message): void {
    if (!this.closed) this.handler?.onMessage(from, message);
  }

  /** @internal */
  lost(peer: NodeId): void {
    if (!this.closed) this.handler?.onConnectionLost(peer);
  }
}
