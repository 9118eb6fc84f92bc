/**
 * `vigil doctor`'s Kafka knowledge (docs/doctor.md "Kafka ACLs"): which ACL a Kafka answer
 * denies, how a missing one is named and the kafka-acls.sh command that grants it, and the
 * lines for bootstrap and advertised addresses.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AssignerProtocol } from 'kafkajs';
import {
  type AccessFact,
  AUTHORIZED_OPERATIONS_UNKNOWN,
  MONITOR_ACLS,
  aclCheckId,
  aclChecks,
  authorizedOperations,
  canaryAcls,
  deniedResourceType,
  kafkaAclsCommand,
  kafkaPrincipal,
} from '../../src/doctor/kafka-acl';
import { connectFailure, connectFix, kafkaChecks, kafkaSecurity, type KafkaFacts } from '../../src/doctor/kafka-checks';
import { subscribedTopics } from '../../src/doctor/kafka-probe';

const ctx = { principal: 'User:vigil', bootstrap: 'kafka-1:9093' };

function allowed(operation: AccessFact['operation'], resourceType: AccessFact['resourceType'], name: string, via = 'Metadata'): AccessFact {
  return { operation, resourceType, name, allowed: true, via };
}

function denied(operation: AccessFact['operation'], resourceType: AccessFact['resourceType'], name: string, via: string, error: string): AccessFact {
  return { operation, resourceType, name, allowed: false, via, error };
}

describe('Kafka authorization answers', () => {
  it('reads an authorized-operations bit field (bit n = AclOperation code n)', () => {
    const bits = (1 << 3) | (1 << 8) | (1 << 10); // READ, DESCRIBE, DESCRIBE_CONFIGS
    assert.deepEqual([...(authorizedOperations(bits) ?? [])].sort(), ['DESCRIBE', 'DESCRIBE_CONFIGS', 'READ']);
    assert.deepEqual([...(authorizedOperations(0) ?? ['x'])], []);
    assert.equal(authorizedOperations(AUTHORIZED_OPERATIONS_UNKNOWN), null);
    assert.deepEqual([...(authorizedOperations((1 << 4) | (1 << 5) | (1 << 7)) ?? [])].sort(), ['ALTER', 'CREATE', 'WRITE']);
  });

  it('maps TOPIC_/GROUP_/CLUSTER_AUTHORIZATION_FAILED to the resource type denied, and nothing else', () => {
    assert.equal(deniedResourceType(29), 'TOPIC');
    assert.equal(deniedResourceType(30), 'GROUP');
    assert.equal(deniedResourceType(31), 'CLUSTER');
    for (const code of [0, 3, 6, 16, 58]) assert.equal(deniedResourceType(code), undefined);
  });

  it('the principal is the SASL user, else the client certificate subject in RFC 2253 order, else ANONYMOUS', () => {
    assert.equal(kafkaPrincipal({ username: 'vigil' }, 'CN=other'), 'User:vigil');
    assert.equal(kafkaPrincipal(undefined, 'C=DE\nO=Acme\nCN=vigil'), 'User:CN=vigil,O=Acme,C=DE');
    assert.equal(kafkaPrincipal(undefined, undefined), 'User:ANONYMOUS');
  });
});

describe('the ACL lines', () => {
  it('names exactly the resources denied, the request and error that said so, and the command that grants it', () => {
    const facts = [
      allowed('READ', 'TOPIC', 'payments', 'Fetch'),
      denied('READ', 'TOPIC', 'orders', 'Fetch', 'TOPIC_AUTHORIZATION_FAILED'),
      denied('READ', 'TOPIC', 'audit', 'Fetch', 'TOPIC_AUTHORIZATION_FAILED'),
    ];
    const [read] = aclChecks(MONITOR_ACLS.filter((r) => r.operation === 'READ'), facts, ctx);
    assert.equal(read?.id, 'kafka.acl.read-topic');
    assert.equal(read?.status, 'fail');
    assert.match(read?.found ?? '', /^READ on TOPIC audit, orders denied to User:vigil \(Fetch: TOPIC_AUTHORIZATION_FAILED\): /);
    assert.equal(read?.fix, 'kafka-acls.sh --bootstrap-server kafka-1:9093 --command-config admin.properties --add --allow-principal User:vigil --operation Read --topic audit --topic orders');
  });

  it('a resource denied by one request is denied, whatever another said', () => {
    const facts = [allowed('DESCRIBE', 'GROUP', 'g', 'DescribeGroups'), denied('DESCRIBE', 'GROUP', 'g', 'OffsetFetch', 'GROUP_AUTHORIZATION_FAILED')];
    const [group] = aclChecks(MONITOR_ACLS.filter((r) => r.resourceType === 'GROUP'), facts, ctx);
    assert.equal(group?.status, 'fail');
    assert.match(group?.found ?? '', /^DESCRIBE on GROUP g denied .*\(OffsetFetch: GROUP_AUTHORIZATION_FAILED\)/);
    assert.match(group?.fix ?? '', /--operation Describe --group g$/);
  });

  it('ok when every resource tested allows it; a warning, not a failure, for what costs vigil only a detail', () => {
    const checks = aclChecks(MONITOR_ACLS, [
      denied('DESCRIBE', 'CLUSTER', 'kafka-cluster', 'Metadata', 'the cluster authorized operations lack DESCRIBE'),
      allowed('DESCRIBE', 'TOPIC', 'orders'),
      allowed('READ', 'TOPIC', 'orders', 'Fetch'),
      denied('DESCRIBE_CONFIGS', 'TOPIC', 'orders', 'DescribeConfigs', 'TOPIC_AUTHORIZATION_FAILED'),
      allowed('DESCRIBE', 'GROUP', 'g', 'OffsetFetch'),
    ], ctx);
    assert.deepEqual(checks.map((c) => [c.id, c.status]), [
      ['kafka.acl.describe-cluster', 'warn'],
      ['kafka.acl.describe-topic', 'ok'],
      ['kafka.acl.read-topic', 'ok'],
      ['kafka.acl.describe-configs-topic', 'warn'],
      ['kafka.acl.describe-group', 'ok'],
    ]);
    assert.equal(checks[0]?.fix, 'kafka-acls.sh --bootstrap-server kafka-1:9093 --command-config admin.properties --add --allow-principal User:vigil --operation Describe --cluster');
    assert.match(checks[0]?.found ?? '', /^DESCRIBE on CLUSTER denied to User:vigil \(Metadata: the cluster authorized operations lack DESCRIBE\)/);
    assert.equal(checks[1]?.fix, undefined);
  });

  it('says so when there was nothing to test, as a warning', () => {
    const [topics] = aclChecks(MONITOR_ACLS.filter((r) => r.operation === 'DESCRIBE' && r.resourceType === 'TOPIC'), [], ctx);
    assert.equal(topics?.status, 'warn');
    assert.match(topics?.found ?? '', /^DESCRIBE on TOPIC not tested: no topic matching monitor\.topics is visible/);
  });

  it('the canary needs CREATE only while its topic is missing', () => {
    assert.deepEqual(canaryAcls(false).map(aclCheckId), ['kafka.acl.create-topic', 'kafka.acl.write-topic', 'kafka.acl.alter-topic']);
    assert.deepEqual(canaryAcls(true).map(aclCheckId), ['kafka.acl.write-topic', 'kafka.acl.alter-topic']);
  });

  it('quotes names a shell would split, and keeps a command with many names pasteable', () => {
    assert.equal(
      kafkaAclsCommand({ principal: 'User:CN=vigil,O=Acme Corp', bootstrap: '[::1]:9093' }, 'DESCRIBE', 'GROUP', ["it's mine", 'plain.group-1']),
      "kafka-acls.sh --bootstrap-server '[::1]:9093' --command-config admin.properties --add --allow-principal 'User:CN=vigil,O=Acme Corp' --operation Describe --group 'it'\\''s mine' --group plain.group-1",
    );
    const many = Array.from({ length: 25 }, (_, i) => `t${i}`);
    const cmd = kafkaAclsCommand(ctx, 'READ', 'TOPIC', many);
    assert.equal(cmd.split('--topic').length - 1, 20);
    assert.match(cmd, / # and 5 more topic\(s\): run vigil doctor again after this one$/);
  });
});

describe('connecting', () => {
  const sasl = { ssl: { rejectUnauthorized: true }, sasl: { mechanism: 'scram-sha-512' as const, username: 'vigil', password: 'p' } };

  it('names the security protocol as Kafka does', () => {
    assert.equal(kafkaSecurity(sasl), 'SASL_SSL (SCRAM-SHA-512 as vigil)');
    assert.equal(kafkaSecurity({ ssl: false }), 'PLAINTEXT');
    assert.equal(kafkaSecurity({ ssl: { rejectUnauthorized: true, cert: 'x' } }), 'SSL (client certificate)');
    assert.equal(kafkaSecurity({ ssl: false, sasl: { mechanism: 'plain', username: 'u', password: 'p' } }), 'SASL_PLAINTEXT (PLAIN as u)');
  });

  it('tells SASL, TLS, a handshake the broker cut, a timeout and an unreachable broker apart', () => {
    assert.equal(connectFailure({ name: 'KafkaJSSASLAuthenticationError', message: 'SASL SCRAM SHA512 authentication failed' }), 'auth');
    assert.equal(connectFailure({ name: 'KafkaJSProtocolError', type: 'UNSUPPORTED_SASL_MECHANISM', message: 'The broker does not support the requested SASL mechanism' }), 'auth');
    assert.equal(connectFailure({ name: 'KafkaJSConnectionError', code: 'SELF_SIGNED_CERT_IN_CHAIN', message: 'Connection error: self-signed certificate in certificate chain' }), 'tls');
    assert.equal(connectFailure({ name: 'KafkaJSConnectionError', message: 'Connection error: ssl3_get_record:wrong version number' }), 'tls');
    assert.equal(connectFailure({ name: 'KafkaJSConnectionError', message: 'Connection closed by the server' }), 'closed');
    assert.equal(connectFailure({ name: 'KafkaJSConnectionError', message: 'Connection timeout' }), 'timeout');
    assert.equal(connectFailure({ name: 'KafkaJSConnectionError', code: 'ECONNREFUSED', message: 'Connection error: connect ECONNREFUSED 127.0.0.1:9' }), 'unreachable');
    assert.match(connectFix('auth', sasl), /user vigil must exist .* --add-config 'SCRAM-SHA-512=\[password=…\]' --entity-type users --entity-name vigil/);
    assert.match(connectFix('tls', { ssl: false }), /^the listener speaks TLS: set kafka\.ssl/);
  });

  const facts = (over: Partial<KafkaFacts>): KafkaFacts => ({ bootstrap: [], requirements: MONITOR_ACLS, access: [], ...over });

  it('no bootstrap broker answering is one FAIL naming each address and why; nothing else is claimed', () => {
    const checks = kafkaChecks(
      facts({
        bootstrap: [
          { address: 'k1:9093', ok: false, error: { name: 'KafkaJSConnectionError', code: 'ECONNREFUSED', message: 'Connection error: connect ECONNREFUSED' } },
          { address: 'k2:9093', ok: false, error: { name: 'KafkaJSSASLAuthenticationError', message: 'SASL SCRAM SHA512 authentication failed' } },
        ],
      }),
      sasl,
      ctx,
      1000,
    );
    assert.equal(checks.length, 1);
    assert.equal(checks[0]?.status, 'fail');
    assert.match(checks[0]?.found ?? '', /^0 of 2 bootstrap broker\(s\) answered over SASL_SSL .*k1:9093: Connection error: connect ECONNREFUSED; k2:9093: SASL SCRAM SHA512 authentication failed; nothing else in Kafka could be checked$/);
  });

  it('a broker that answers at the bootstrap address but not at the one it advertises fails kafka.brokers', () => {
    const checks = kafkaChecks(
      facts({
        bootstrap: [{ address: 'lb:9093', ok: true }, { address: 'k9:9093', ok: false, error: { message: 'Connection timeout' } }],
        advertised: [
          { nodeId: 1, address: 'kafka-1.internal:9093', ok: true },
          { nodeId: 2, address: 'kafka-2.internal:9093', ok: false, error: { code: 'ENOTFOUND', message: 'getaddrinfo ENOTFOUND kafka-2.internal' } },
        ],
      }),
      sasl,
      ctx,
      1000,
    );
    assert.deepEqual(checks.slice(0, 2).map((c) => [c.id, c.status]), [['kafka.bootstrap', 'warn'], ['kafka.brokers', 'fail']]);
    assert.match(checks[1]?.found ?? '', /broker 2 at kafka-2\.internal:9093: getaddrinfo ENOTFOUND/);
    assert.match(checks[1]?.fix ?? '', /^advertised\.listeners of that broker must name an address this host can reach/);
    assert.equal(checks.length, 2 + MONITOR_ACLS.length);
  });
});

describe("a consumer's subscription in DescribeGroups member metadata", () => {
  it('gives the topics, whatever the subscription version; anything else gives none', () => {
    const encoded = AssignerProtocol.MemberMetadata.encode({ version: 1, topics: ['orders', 'payments'], userData: Buffer.from('x') });
    assert.deepEqual(subscribedTopics(encoded), ['orders', 'payments']);
    assert.deepEqual(subscribedTopics(null), []);
    assert.deepEqual(subscribedTopics(Buffer.from('not a subscription')), []);
  });
});
