/**
 * DescribeQuorum (API 55) as a raw request over the connection layer (kafkajs-wire.ts):
 * the KRaft controller quorum of `__cluster_metadata` partition 0 — its leader and epoch,
 * the high watermark, and each voter's and observer's log end offset, last fetch and last
 * caught-up time (docs/design.md §4.7).
 *
 * Versions 1–2, the highest the broker speaks (every version is flexible; v1 adds each
 * replica's last fetch and last caught-up time, KIP-836, Kafka 3.3; v2 adds error messages,
 * each replica's directory id and the voters' endpoints, KIP-853, Kafka 3.9). v0 (Kafka
 * 3.0–3.2) is not spoken: without the caught-up times a voter's lag cannot be measured.
 * Any broker takes it and forwards it to the active
 * controller (KafkaApis: forwardToControllerOrFail); the controller answers from its Raft
 * state, after checking DESCRIBE on the CLUSTER resource. Only the leader of the quorum
 * describes it: a controller that is not the leader answers NOT_LEADER_OR_FOLLOWER for the
 * partition, and a broker that knows no controller holds the request until one is elected
 * — which is why callers put a deadline on it.
 *
 * Answers are read into ControllerQuorum (src/kafka/types.ts), never thrown: an
 * authorization error is "not observable", every other error "unanswered".
 */
import { type RawRequest, type WireReader, kafkaErrorName } from './kafkajs-wire';
import type { ControllerQuorum, QuorumReplica } from './types';

/** kafkajs 2.2.4 predates KRaft and has no name for it. */
const DESCRIBE_QUORUM_API_KEY = 55;

/** The KRaft metadata log, the only partition a quorum describes. */
export const CLUSTER_METADATA_TOPIC = '__cluster_metadata';
const CLUSTER_METADATA_PARTITION = 0;

const ERR_NONE = 0;
/** CLUSTER_AUTHORIZATION_FAILED: vigil's principal lacks DESCRIBE on the CLUSTER resource. */
const ERR_CLUSTER_AUTHORIZATION_FAILED = 31;

/** DescribeQuorum (v1–v2) for `__cluster_metadata`-0. `timeoutMs` bounds the wait for the answer. */
export function describeQuorumRequest(timeoutMs: number): RawRequest<ControllerQuorum> {
  return {
    apiKey: DESCRIBE_QUORUM_API_KEY,
    apiName: 'DescribeQuorum',
    versions: { min: 1, max: 2 },
    flexibleFrom: 0,
    requestTimeoutMs: timeoutMs,
    encode: (w) => {
      w.array([CLUSTER_METADATA_TOPIC], (w, topic) => {
        w.string(topic);
        w.array([CLUSTER_METADATA_PARTITION], (w, p) => w.int32(p).tags());
        w.tags();
      });
      w.tags();
    },
    decode: decodeDescribeQuorum,
  };
}

/** A -1 of the wire ("unknown") as null. */
const known = (n: number): number | null => (n < 0 ? null : n);

function readReplica(r: WireReader): QuorumReplica {
  const nodeId = r.int32();
  if (r.version >= 2) r.uuid(); // replica directory id
  const logEndOffset = known(r.int64());
  const lastFetchMs = known(r.int64());
  const lastCaughtUpMs = known(r.int64());
  r.tags();
  return { nodeId, logEndOffset, lastFetchMs, lastCaughtUpMs };
}

const byNodeId = (a: QuorumReplica, b: QuorumReplica): number => a.nodeId - b.nodeId;

function errorAnswer(code: number, message: string | null, where: string): ControllerQuorum {
  const name = kafkaErrorName(code);
  if (code === ERR_CLUSTER_AUTHORIZATION_FAILED) {
    return {
      state: 'unobservable',
      cause: 'not-authorized',
      reason: `DescribeQuorum refused (${name}): grant vigil's principal DESCRIBE on the CLUSTER resource (kafka-acls.sh --add --allow-principal <principal> --operation Describe --cluster)`,
    };
  }
  return { state: 'unanswered', error: `DescribeQuorum answered ${name}${where}${message ? ` (${message})` : ''}` };
}

/** DescribeQuorumResponse v1–v2 (the body, after the response header). */
export function decodeDescribeQuorum(r: WireReader): ControllerQuorum {
  const topLevel = r.int16();
  const topLevelMessage = r.version >= 2 ? r.string() : null;
  let answer: ControllerQuorum | null = null;
  r.array((t) => {
    const topic = t.string();
    t.array((p) => {
      const partition = p.int32();
      const code = p.int16();
      const message = p.version >= 2 ? p.string() : null;
      const leaderId = p.int32();
      const leaderEpoch = p.int32();
      const highWatermark = p.int64();
      const voters = p.array(readReplica).sort(byNodeId);
      const observers = p.array(readReplica).sort(byNodeId);
      p.tags();
      if (topic !== CLUSTER_METADATA_TOPIC || partition !== CLUSTER_METADATA_PARTITION) return;
      answer =
        code === ERR_NONE
          ? { state: 'described', leaderId: known(leaderId), leaderEpoch, highWatermark: known(highWatermark), voters, observers }
          : errorAnswer(code, message, ` for ${CLUSTER_METADATA_TOPIC}-${CLUSTER_METADATA_PARTITION}`);
    });
    t.tags();
  });
  if (r.version >= 2) {
    // the voters' endpoints (KIP-853): not needed, vigil knows the brokers from Metadata
    r.array((n) => {
      n.int32(); // node id
      n.array((l) => {
        l.string(); // listener name
        l.string(); // host
        l.int16(); // port (uint16)
        l.tags();
      });
      n.tags();
    });
  }
  r.tags();
  if (topLevel !== ERR_NONE) return errorAnswer(topLevel, topLevelMessage, '');
  return answer ?? { state: 'unanswered', error: `DescribeQuorum answered without ${CLUSTER_METADATA_TOPIC}-${CLUSTER_METADATA_PARTITION}` };
}
