/**
 * The Kafka mutation requests (src/kafka/admin-mutations.ts) on the wire, without a broker:
 * the bytes of each version's body as Kafka's schema lays them out (ElectLeaders v1–v2,
 * IncrementalAlterConfigs v0–v1), answers decoded per partition (ELECTION_NOT_NEEDED as
 * success, other codes by name), a top-level refusal thrown with its name, and the
 * ApiVersions check. The same requests against real brokers:
 * test/integration/admin-mutations.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { VigilError } from '../../src/errors';
import {
  alterPartitionReassignmentsRequest,
  assertBrokerSpeaks,
  electLeadersRequest,
  incrementalAlterConfigsRequest,
} from '../../src/kafka/admin-mutations';
import { type RawRequest, decodeResponse, encodeRequest } from '../../src/kafka/kafkajs-wire';

const bytes = (...parts: Array<number[] | Buffer>) => Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p))));
const i16 = (v: number) => { const b = Buffer.alloc(2); b.writeInt16BE(v); return b; };
const i32 = (v: number) => { const b = Buffer.alloc(4); b.writeInt32BE(v); return b; };
/** a compact string: length + 1 as an unsigned varint (all short here), then the bytes */
const cstr = (s: string) => bytes([s.length + 1], Buffer.from(s));
/** a fixed-width string: int16 length, then the bytes */
const str = (s: string) => bytes(i16(s.length), Buffer.from(s));
/** the body of `req` in its highest version, or in `version` */
const encoded = (req: RawRequest<unknown>, version = req.versions.max) => encodeRequest(req, version);

describe('Kafka mutation requests (issue 7, Kafka wire)', () => {
  it('ElectLeaders v2: header tags, election type, topics with their partitions, timeout, tags', () => {
    const req = electLeadersRequest('preferred', [{ topic: 'a', partition: 0 }, { topic: 'a', partition: 2 }, { topic: 'b', partition: 1 }], 5000);
    assert.equal(req.apiKey, 43);
    assert.deepEqual(req.versions, { min: 1, max: 2 });
    assert.deepEqual(
      encoded(req),
      bytes([0], [0], [3], cstr('a'), [3], i32(0), i32(2), [0], cstr('b'), [2], i32(1), [0], i32(5000), [0]),
    );
    assert.equal(encoded(electLeadersRequest('unclean', [], 1))[1], 1, 'unclean elections are type 1');
  });

  it('ElectLeaders v1: the same fields with int16 string and int32 array lengths, no tags', () => {
    const req = electLeadersRequest('unclean', [{ topic: 'a', partition: 0 }, { topic: 'a', partition: 2 }], 5000);
    assert.deepEqual(encoded(req, 1), bytes([1], i32(1), str('a'), i32(2), i32(0), i32(2), i32(5000)));
    const answer = bytes(i32(0), i16(0), i32(1), str('a'), i32(2), i32(0), i16(84), i16(-1), i32(2), i16(5), str('no leader'));
    assert.deepEqual(decodeResponse(req, 1, answer), [
      { topic: 'a', partition: 0 },
      { topic: 'a', partition: 2, error: 'LEADER_NOT_AVAILABLE', message: 'no leader' },
    ]);
  });

  it('ElectLeaders answers: success, not needed (the preferred replica leads) and a refusal per partition', () => {
    const answer = bytes(
      [0], // response header tags
      i32(0), // throttle
      i16(0), // top-level error
      [2], cstr('a'),
      [4],
      i32(0), i16(0), [0], [0],
      i32(1), i16(84), cstr('not needed'), [0],
      i32(2), i16(5), cstr('no leader'), [0],
      [0], [0],
    );
    assert.deepEqual(decodeResponse(electLeadersRequest('preferred', []), 2, answer), [
      { topic: 'a', partition: 0 },
      { topic: 'a', partition: 1 },
      { topic: 'a', partition: 2, error: 'LEADER_NOT_AVAILABLE', message: 'no leader' },
    ]);
  });

  it('a top-level error fails the whole request with its name', () => {
    const answer = bytes([0], i32(0), i16(31), cstr('denied'), [1], [0]);
    assert.throws(
      () => decodeResponse(alterPartitionReassignmentsRequest([]), 0, answer),
      (err: unknown) => err instanceof VigilError && err.code === 'KAFKA_REQUEST_REFUSED' && /CLUSTER_AUTHORIZATION_FAILED \(denied\)/.test(err.message),
    );
  });

  it('AlterPartitionReassignments: a null replica list (cancel) is a null compact array', () => {
    const body = encoded(alterPartitionReassignmentsRequest([{ topic: 't', partition: 4, replicas: null }], 1000));
    assert.deepEqual(body, bytes([0], i32(1000), [2], cstr('t'), [2], i32(4), [0], [0], [0], [0]));
  });

  it('IncrementalAlterConfigs: resource type, name, each config with its operation, a delete with a null value', () => {
    const body = encoded(
      incrementalAlterConfigsRequest([{ type: 'topic', name: 't', configs: [{ name: 'k', op: 'set', value: 'v' }, { name: 'd', op: 'delete' }] }], true),
    );
    assert.deepEqual(body, bytes([0], [2], [2], cstr('t'), [3], cstr('k'), [0], cstr('v'), [0], cstr('d'), [1], [0], [0], [0], [1], [0]));
  });

  it('IncrementalAlterConfigs v0: fixed-width lengths, a null value as length -1; its answer per resource', () => {
    const req = incrementalAlterConfigsRequest([{ type: 'broker', name: '2', configs: [{ name: 'd', op: 'delete' }] }]);
    assert.deepEqual(encoded(req, 0), bytes(i32(1), [4], str('2'), i32(1), str('d'), [1], i16(-1), [0]));
    const answer = bytes(i32(0), i32(2), i16(0), i16(-1), [4], str('2'), i16(44), str('bad'), [2], str('t'));
    assert.deepEqual(decodeResponse(req, 0, answer), [
      { type: 'broker', name: '2' },
      { type: 'topic', name: 't', error: 'POLICY_VIOLATION', message: 'bad' },
    ]);
  });

  it('the ApiVersions check passes a broker that speaks a version vigil does, and names both ranges when none', () => {
    const req = electLeadersRequest('preferred', []);
    assertBrokerSpeaks({ versions: { 43: { minVersion: 0, maxVersion: 1 } } }, req, 'b:9092');
    const cases: Array<[Record<number, { minVersion: number; maxVersion: number }>, RegExp]> = [
      [{ 43: { minVersion: 0, maxVersion: 0 } }, /b:9092 speaks ElectLeaders v0, older than the v1–v2 vigil speaks\. Upgrade the brokers/],
      [{ 43: { minVersion: 3, maxVersion: 5 } }, /b:9092 speaks ElectLeaders v3–v5, all newer than the v1–v2 this vigil speaks.*Upgrade vigil/],
      [{}, /b:9092 does not offer ElectLeaders \(API 43\) in its ApiVersions answer; vigil speaks v1–v2/],
    ];
    for (const [versions, message] of cases) {
      assert.throws(
        () => assertBrokerSpeaks({ versions }, req, 'b:9092'),
        (err: unknown) => err instanceof VigilError && err.code === 'KAFKA_API_UNSUPPORTED' && !err.retriable && message.test(err.message),
      );
    }
  });
});
