/**
 * The driver's view of the network (STYLE: interfaces at the edges). The HTTP transport
 * (http.ts) is the real one; memory.ts is the in-memory fake for unit tests.
 */
import type { Message, NodeId } from '../types';

/** What the transport reports to the driver. Calls arrive one at a time, never re-entrantly from `send`. */
export interface TransportHandler {
  /** An authenticated, well-formed message from peer `from`. */
  onMessage(from: NodeId, message: Message): void;
  /**
   * `peer`'s process is gone (its connection dropped and a reconnect was refused). Never
   * reported for a timeout or a hang: those are the core's business (docs/design.md §2).
   */
  onConnectionLost(peer: NodeId): void;
  /** A connection to `peer` works again after `onConnectionLost`. */
  onConnectionRestored(peer: NodeId): void;
}

export interface PeerLinkStatus {
  readonly id: NodeId;
  readonly url: string;
  /** The long-lived stream to this peer is open. */
  readonly connected: boolean;
}

export interface PeerTransport {
  start(handler: TransportHandler): void;
  /** Best effort: a message may be lost, delayed or reordered (the core tolerates all three). */
  send(to: NodeId, message: Message): void;
  peers(): readonly PeerLinkStatus[];
  /** Stops reconnecting and sending; in-flight requests are abandoned. */
  close(): Promise<void>;
}

/** Why a peer message was rejected: the `reason` label of vigil_peer_messages_rejected_total. */
export type RejectReason =
  | 'oversized'
  | 'unsigned'
  | 'bad-signature'
  | 'malformed'
  | 'unknown-sender'
  | 'wrong-recipient'
  | 'stale-timestamp'
  | 'replay'
  | 'not-found';

export const REJECT_REASONS: readonly RejectReason[] = [
  'oversized',
  'unsigned',
  'bad-signature',
  'malformed',
  'unknown-sender',
  'wrong-recipient',
  'stale-timestamp',
  'replay',
  'not-found',
];
