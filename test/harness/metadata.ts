import net from 'node:net';

/**
 * One Kafka Metadata request (v4) to one broker, on its own connection. The harness asks
 * a chosen broker what *it* knows: a kafkajs client answers from whichever broker it
 * picks, so it can neither tell whether a given broker already serves nor whether a new
 * topic has reached every broker's metadata cache. v4 is plain (non-flexible) encoding
 * and is served by Kafka 2.x through 4.x.
 */

export interface BrokerMetadata {
  clusterId: string | null;
  controllerId: number;
  brokers: Array<{ nodeId: number; host: string; port: number; rack: string | null }>;
  topics: TopicMetadata[];
}

export interface TopicMetadata {
  name: string;
  /** 0 = none; 3 = UNKNOWN_TOPIC_OR_PARTITION, 5 = LEADER_NOT_AVAILABLE, ... */
  errorCode: number;
  partitions: PartitionMetadata[];
}

export interface PartitionMetadata {
  partition: number;
  errorCode: number;
  /** -1 when the partition has no leader. */
  leader: number;
  replicas: number[];
  isr: number[];
}

const METADATA_API_KEY = 3;
const METADATA_VERSION = 4;

/**
 * `topics`: the topics to describe; [] for none (brokers only); null for all.
 * Rejects on connection errors, a timeout, or a malformed reply.
 */
export function fetchMetadata(
  address: string,
  topics: string[] | null = [],
  timeoutMs = 5000,
): Promise<BrokerMetadata> {
  const [host, portText] = splitAddress(address);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port: Number(portText) });
    const chunks: Buffer[] = [];
    let received = 0;
    const fail = (err: Error): void => {
      socket.destroy();
      reject(err);
    };
    socket.setTimeout(timeoutMs, () => fail(new Error(`metadata request to ${address} timed out after ${timeoutMs} ms`)));
    socket.on('error', (err) => fail(new Error(`metadata request to ${address} failed: ${err.message}`)));
    socket.on('close', () => fail(new Error(`${address} closed the connection before answering`)));
    socket.on('connect', () => socket.write(encodeRequest(topics)));
    socket.on('data', (chunk) => {
      // No setEncoding on this socket, so chunks are Buffers; the type also allows strings.
      if (typeof chunk === 'string') chunk = Buffer.from(chunk, 'latin1');
      chunks.push(chunk);
      received += chunk.length;
      if (received < 4) return;
      const all = Buffer.concat(chunks);
      const size = all.readInt32BE(0);
      if (all.length < 4 + size) return;
      socket.removeAllListeners('close');
      socket.destroy();
      try {
        resolve(decodeResponse(all.subarray(4, 4 + size)));
      } catch (err) {
        reject(new Error(`malformed metadata reply from ${address}: ${(err as Error).message}`));
      }
    });
  });
}

function splitAddress(address: string): [string, string] {
  const i = address.lastIndexOf(':');
  if (i < 0) throw new Error(`broker address must be host:port, got ${address}`);
  return [address.slice(0, i), address.slice(i + 1)];
}

function encodeRequest(topics: string[] | null): Buffer {
  const clientId = Buffer.from('vigil-harness');
  const parts: Buffer[] = [];
  const header = Buffer.alloc(10);
  header.writeInt16BE(METADATA_API_KEY, 0);
  header.writeInt16BE(METADATA_VERSION, 2);
  header.writeInt32BE(1, 4); // correlation id: one request per connection
  header.writeInt16BE(clientId.length, 8);
  parts.push(header, clientId);
  const count = Buffer.alloc(4);
  count.writeInt32BE(topics === null ? -1 : topics.length, 0);
  parts.push(count);
  for (const topic of topics ?? []) {
    const name = Buffer.from(topic);
    const len = Buffer.alloc(2);
    len.writeInt16BE(name.length, 0);
    parts.push(len, name);
  }
  parts.push(Buffer.from([0])); // allow_auto_topic_creation = false
  const body = Buffer.concat(parts);
  const size = Buffer.alloc(4);
  size.writeInt32BE(body.length, 0);
  return Buffer.concat([size, body]);
}

function decodeResponse(buf: Buffer): BrokerMetadata {
  let at = 0;
  const int16 = (): number => {
    const v = buf.readInt16BE(at);
    at += 2;
    return v;
  };
  const int32 = (): number => {
    const v = buf.readInt32BE(at);
    at += 4;
    return v;
  };
  const nullableString = (): string | null => {
    const len = int16();
    if (len < 0) return null;
    const v = buf.toString('utf8', at, at + len);
    at += len;
    return v;
  };
  const string = (): string => nullableString() ?? '';
  const array = <T>(item: () => T): T[] => {
    const n = int32();
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(item());
    return out;
  };

  int32(); // correlation id
  int32(); // throttle_time_ms
  const brokers = array(() => ({ nodeId: int32(), host: string(), port: int32(), rack: nullableString() }));
  const clusterId = nullableString();
  const controllerId = int32();
  const topics = array(() => {
    const errorCode = int16();
    const name = string();
    at += 1; // is_internal
    const partitions = array(() => ({
      errorCode: int16(),
      partition: int32(),
      leader: int32(),
      replicas: array(int32),
      isr: array(int32),
    }));
    return { name, errorCode, partitions };
  });
  return { clusterId, controllerId, brokers, topics };
}
