/**
 * DescribeQuorum (API 55) as a raw request over the connection layer (kafkajs-wire.ts):
 * the KRaft controller quorum of `__cluster_metadata` partition 0 — its leader and epoch,
 * the high watermark, and each voter's and observer's log end offset, last fetch and last
 * caught-up time (docs/design.md §4.7).
 *
 * Version 1 (flexible from v0; v1 adds the two timestamps, KIP-836): Kafka 3.3 and later,
 * 3.9 and 4.x included, accept it. Any broker takes it and forwards it to the active
 * controller (KafkaApis: forwardToControllerOrFail); the controller answers from its Raft
 * state, after checking DESCRIBE on the CLUSTER resource. Only the leader of the quorum
 * describes it: a controller that is not the leader answers NOT_LEADER_OR_FOLLOWER for the
 * partition, and a broker that knows no controller holds the request until one is elected
 * — which is why callers put a deadline on it.
 *
 * Answers are read into ControllerQuorum (src/kafka/types.ts), never thrown: an
 * authorization error is "not observable", every other error "unanswered".
 */
import {
  type KafkajsDecoder,
  type RawRequest,
  compactArray,
  kafkaErrorName,
  newEncoder,
  noTags,
  readCompactArray,
  readInt64Number,
} from './kafkajs-wire';
import type { ControllerQuorum, QuorumReplica } from './types';

/** kafkajs 2.2.4 predates KRaft and has no name for it. */
const DESCRIBE_QUORUM_API_KEY = 55;

/** The KRaft metadata log, the only partition a quorum describes. */
export const CLUSTER_METADATA_TOPIC = '__cluster_metadata';
const CLUSTER_METADATA_PARTITION = 0;

const ERR_NONE = 0;
/** CLUSTER_AUTHORIZATION_FAILED: vigil's principal lacks DESCRIBE on the CLUSTER resource. */
const ERR_CLUSTER_AUTHORIZATION_FAILED = 31;

/** DescribeQuorum v1 for `__cluster_metadata`-0. `timeoutMs` bounds the wait for the answer. */
export function describeQuorumRequest(timeoutMs: number): RawRequest<ControllerQuorum> {
  return {
    apiKey: DESCRIBE_QUORUM_API_KEY,
    apiVersion: 1,
    apiName: 'DescribeQuorum',
    requestTimeoutMs: timeoutMs,
    encode: () => {
      const e = noTags(newEncoder()); // request header tags
      compactArray(e, [CLUSTER_METADATA_TOPIC], (e, topic) => {
        e.writeUVarIntString(topic);
        compactArray(e, [CLUSTER_METADATA_PARTITION], (e, p) => noTags(e.writeInt32(p)));
        noTags(e);
      });
      return noTags(e);
    },
    decode: decodeDescribeQuorumV1,
  };
}

/** A -1 of the wire ("unknown") as null. */
const known = (n: number): number | null => (n < 0 ? null : n);

function readReplica(d: KafkajsDecoder): QuorumReplica {
  const nodeId = d.readInt32();
  const logEndOffset = known(readInt64Number(d));
  const lastFetchMs = known(readInt64Number(d));
  const lastCaughtUpMs = known(readInt64Number(d));
  d.readTaggedFields();
  return { nodeId, logEndOffset, lastFetchMs, lastCaughtUpMs };
}

const byNodeId = (a: QuorumReplica, b: QuorumReplica): number => a.nodeId - b.nodeId;

function errorAnswer(code: number, where: string): ControllerQuorum {
  const name = kafkaErrorName(code);
  if (code === ERR_CLUSTER_AUTHORIZATION_FAILED) {
    return {
      state: 'unobservable',
      cause: 'not-authorized',
      reason: `DescribeQuorum refused (${name}): grant vigil's principal DESCRIBE on the CLUSTER resource (kafka-acls.sh --add --allow-principal <principal> --operation Describe --cluster)`,
    };
  }
  return { state: 'unanswered', error: `DescribeQuorum answered ${name}${where}` };
}

/** DescribeQuorumResponse v1, after the response header's tag buffer. */
export function decodeDescribeQuorumV1(d: KafkajsDecoder): ControllerQuorum {
  d.readTaggedFields(); // response header
  const topLevel = d.readInt16();
  let answer: ControllerQuorum | null = null;
  readCompactArray(d, (t) => {
    const topic = t.readUVarIntString();
    readCompactArray(t, (p) => {
      const partition = p.readInt32();
      const code = p.readInt16();
      const leaderId = p.readInt32();
      const leaderEpoch = p.readInt32();
      const highWatermark = readInt64Number(p);
      const voters = readCompactArray(p, readReplica).sort(byNodeId);
      const observers = readCompactArray(p, readReplica).sort(byNodeId);
      p.readTaggedFields();
      if (topic !== CLUSTER_METADATA_TOPIC || partition !== CLUSTER_METADATA_PARTITION) return;
      answer =
        code === ERR_NONE
          ? { state: 'described', leaderId: known(leaderId), leaderEpoch, highWatermark: known(highWatermark), voters, observers }
          : errorAnswer(code, ` for ${CLUSTER_METADATA_TOPIC}-${CLUSTER_METADATA_PARTITION}`);
    });
    t.readTaggedFields();
  });
  d.readTaggedFields();
  if (topLevel !== ERR_NONE) return errorAnswer(topLevel, '');
  return answer ?? { state: 'unanswered', error: `DescribeQuorum answered without ${CLUSTER_METADATA_TOPIC}-${CLUSTER_METADATA_PARTITION}` };
}
