/**
 * `vigil lag --command-config` (issue 11 item 6): a Kafka client properties file, as
 * kafka-consumer-groups.sh reads it, mapped to vigil's Kafka settings and from there to the
 * TLS and SASL options kafkajs's connection layer gets. What vigil cannot honour and that
 * changes how it authenticates or verifies brokers is refused; other keys are named in a
 * warning.
 */
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSecureContext } from 'node:tls';
import { describe, it } from 'node:test';
import { kafkaConfigFromOptions, layer } from '../../src/cli/kafka-options';
import type { KafkaConfig } from '../../src/config/types';
import { isVigilError } from '../../src/errors';
import { kafkaSettingsFromProperties, parseJaasConfig, pemBlocks } from '../../src/kafka/client-properties';
import { kafkajsSaslOptions, kafkajsTlsOptions } from '../../src/kafka/kafkajs-options';
import { parseJavaProperties } from '../../src/util/java-properties';

// A self-signed EC certificate and its key, only ever used by tests.
const CERT = `-----BEGIN CERTIFICATE-----
MIIBhjCCAS2gAwIBAgIUGRjK+DLxwqHLGBsufDzXijNqi1kwCgYIKoZIzj0EAwIw
GDEWMBQGA1UEAwwNdmlnaWwtdGVzdC1jYTAgFw0yNjEyMDMyMTA4MzVaGA8yMTI2
MTEwOTIxMDgzNVowGDEWMBQGA1UEAwwNdmlnaWwtdGVzdC1jYTBZMBMGByqGSM49
AgEGCCqGSM49AwEHA0IABHSLz7GgdYB09BBPyqL3Yoa4bAI81zFozRQpS2D2Npdl
5+/R+LOVv6o/HK0uK09AFNxGI8S3KpENx9HCE13ypgyjUzBRMB0GA1UdDgQWBBT6
Ux8dnnet5dF5PjgMtNzZC+NSwjAfBgNVHSMEGDAWgBT6Ux8dnnet5dF5PjgMtNzZ
C+NSwjAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0cAMEQCIGdIBEXQWVoo
d86nBVSzXyipAqDm8ka100B3CdHCWrqvAiAOX105aZVxCk2Sa5P5gp4yEfxgonEU
zl9LEoqZiDcVIg==
-----END CERTIFICATE-----
`;
const KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgHZ43EtkXSv6z4FiY
9oIeYNtWD6o+M7jzs+VCT9Ud2EOhRANCAAR0i8+xoHWAdPQQT8qi92KGuGwCPNcx
aM0UKUtg9jaXZefv0fizlb+qPxytLitPQBTcRiPEtyqRDcfRwhNd8qYM
-----END PRIVATE KEY-----
`;
const JKS = Uint8Array.from([0xfe, 0xed, 0xfe, 0xed, 0, 0, 0, 2]);
const PKCS12 = Uint8Array.from([0x30, 0x82, 0x04, 0x1c, 2, 1, 3]);

const FILES: Record<string, Uint8Array> = {
  'ca.pem': Buffer.from(`# keytool -list -rfc output has text between blocks\nAlias name: ca\n${CERT}`),
  'client.pem': Buffer.from(CERT + KEY),
  'truststore.jks': JKS,
  'keystore.p12': PKCS12,
};

function map(text: string) {
  return kafkaSettingsFromProperties(parseJavaProperties(text), {
    source: 'client.properties',
    readFile: (f) => {
      const bytes = FILES[f];
      if (!bytes) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
      return bytes;
    },
  });
}

function refused(text: string, pattern: RegExp): void {
  assert.throws(
    () => map(text),
    (err) => isVigilError(err) && err.code === 'CONFIG_INVALID' && pattern.test(err.message) && err.message.startsWith('client.properties: '),
  );
}

const PLAIN_JAAS = 'sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="alice" password="s3cr=t;\\\\\\"x\\\\\\\\y";';
// In the file: password="s3cr=t;\\\"x\\\\y" — Properties unescapes once, then JAAS once.

describe('Kafka client properties → vigil settings', () => {
  it('security.protocol=PLAINTEXT: no TLS and no SASL (overriding what --config had)', () => {
    assert.deepEqual(map('security.protocol=PLAINTEXT\nclient.id=ops').settings, { clientId: 'ops', ssl: false, sasl: null });
  });

  it('SASL_SSL with PLAIN: username and password from sasl.jaas.config, quoted with escapes', () => {
    const { settings, warnings } = map(`security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\n${PLAIN_JAAS}\nssl.truststore.type=PEM\nssl.truststore.location=ca.pem`);
    assert.deepEqual(settings.sasl, { mechanism: 'plain', username: 'alice', password: 's3cr=t;"x\\y' });
    assert.equal(settings.ssl && settings.ssl.ca, CERT);
    assert.deepEqual(warnings, []);
  });

  it('SASL_PLAINTEXT with SCRAM-SHA-256 and SCRAM-SHA-512, bare-word values, continuation lines', () => {
    for (const [name, mechanism] of [['SCRAM-SHA-256', 'scram-sha-256'], ['scram-sha-512', 'scram-sha-512']] as const) {
      const { settings } = map(
        `security.protocol=SASL_PLAINTEXT\nsasl.mechanism=${name}\nsasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule \\\n   required \\\n   username=bob \\\n   password="pw";`,
      );
      assert.deepEqual(settings, { ssl: false, sasl: { mechanism, username: 'bob', password: 'pw' } });
    }
  });

  it('without sasl.mechanism, a PlainLoginModule means PLAIN; a ScramLoginModule needs the hash named', () => {
    assert.equal(map(`security.protocol=SASL_SSL\n${PLAIN_JAAS}`).settings.sasl?.mechanism, 'plain');
    refused(
      'security.protocol=SASL_SSL\nsasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="a" password="b";',
      /sasl\.mechanism is not set; set it to SCRAM-SHA-256 or SCRAM-SHA-512/,
    );
  });

  it('refuses GSSAPI and OAUTHBEARER, naming what vigil speaks, whatever the JAAS entry', () => {
    for (const m of ['GSSAPI', 'OAUTHBEARER', 'AWS_MSK_IAM']) {
      refused(`security.protocol=SASL_SSL\nsasl.mechanism=${m}\n${PLAIN_JAAS}`, new RegExp(`sasl\\.mechanism=${m} is not supported: vigil speaks PLAIN, SCRAM-SHA-256, SCRAM-SHA-512`));
    }
    refused('security.protocol=SASL_SSL\nsasl.mechanism=GSSAPI\nsasl.kerberos.service.name=kafka', /sasl\.mechanism=GSSAPI is not supported/);
    refused('security.protocol=SASL_SSL\nsasl.jaas.config=com.sun.security.auth.module.Krb5LoginModule required;', /login module com\.sun\.security\.auth\.module\.Krb5LoginModule is not supported/);
  });

  it('refuses a login module that does not match the mechanism, or one vigil does not know', () => {
    refused(`security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-256\n${PLAIN_JAAS}`, /uses .*PlainLoginModule, which does not match sasl\.mechanism=SCRAM-SHA-256/);
    refused(
      'security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nsasl.jaas.config=com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true;',
      /login module com\.sun\.security\.auth\.module\.Krb5LoginModule is not supported/,
    );
  });

  it('refuses SASL without sasl.jaas.config, without a password, or with SCRAM delegation tokens', () => {
    refused('security.protocol=SASL_SSL\nsasl.mechanism=PLAIN', /sasl\.jaas\.config is not set/);
    refused('security.protocol=SASL_SSL\nsasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="a";', /needs both username/);
    refused(
      'security.protocol=SASL_SSL\nsasl.mechanism=SCRAM-SHA-512\nsasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="a" password="b" tokenauth=true;',
      /tokenauth=true \(delegation tokens\) is not supported/,
    );
  });

  it('refuses an unknown security.protocol, callback handlers and config providers', () => {
    refused('security.protocol=SSL_PLAINTEXT', /security\.protocol: "SSL_PLAINTEXT" is not one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL/);
    refused('security.protocol=SASL_SSL\nsasl.client.callback.handler.class=software.amazon.msk.auth.iam.IAMClientCallbackHandler', /sasl\.client\.callback\.handler\.class: custom SASL client callback handlers/);
    refused('config.providers=file\nsecurity.protocol=PLAINTEXT', /config\.providers: config providers .* are not supported/);
  });

  it('a JKS or PKCS12 store is an error with the command that converts it to PEM', () => {
    refused('security.protocol=SSL\nssl.truststore.location=truststore.jks\nssl.truststore.password=changeit', /vigil reads PEM\. Convert it with: keytool -list -rfc -keystore truststore\.jks > truststore\.pem — then set ssl\.truststore\.type=PEM and ssl\.truststore\.location=truststore\.pem/);
    refused('security.protocol=SSL\nssl.truststore.type=JKS\nssl.truststore.location=ca.pem', /ssl\.truststore\.type JKS is not supported/);
    refused('security.protocol=SSL\nssl.keystore.type=PKCS12\nssl.keystore.location=keystore.p12', /openssl pkcs12 -in keystore\.p12 -out keystore\.pem -nodes — then set ssl\.keystore\.type=PEM/);
    refused('security.protocol=SSL\nssl.keystore.location=keystore.p12', /ssl\.keystore\.type PKCS12 is not supported/);
    refused('security.protocol=SSL\nssl.keystore.type=JKS\nssl.keystore.location=ks.jks', /keytool -importkeystore -srckeystore ks\.jks -destkeystore ks\.p12 -deststoretype PKCS12 && openssl pkcs12 -in ks\.p12/);
  });

  it('reads a PEM truststore without ssl.truststore.type when the file is PEM, and names a missing file', () => {
    assert.equal((map('security.protocol=SSL\nssl.truststore.location=ca.pem').settings.ssl as { ca: string }).ca, CERT);
    refused('security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location=missing.pem', /ssl\.truststore\.location: cannot read "missing\.pem" \(ENOENT\)/);
    refused('security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.certificates=not pem', /ssl\.truststore\.certificates: no PEM CERTIFICATE block/);
  });

  it('client certificate from a PEM keystore file holding chain and key', () => {
    const ssl = map('security.protocol=SSL\nssl.keystore.type=PEM\nssl.keystore.location=client.pem').settings.ssl;
    assert.ok(ssl);
    assert.equal(ssl.cert, CERT);
    assert.equal(ssl.key, KEY);
  });

  it('inline PEM flattened by continuation lines is re-wrapped so Node can read it', () => {
    const flat = (pem: string) => pem.trim().split('\n').join(' \\\n  ');
    const { settings } = map(
      `security.protocol=SSL\nssl.keystore.type=PEM\nssl.keystore.certificate.chain=${flat(CERT)}\nssl.keystore.key=${flat(KEY)}\nssl.truststore.type=PEM\nssl.truststore.certificates=${flat(CERT)}`,
    );
    const ssl = settings.ssl;
    assert.ok(ssl);
    assert.deepEqual([ssl.ca, ssl.cert, ssl.key], [CERT, CERT, KEY]);
    createPrivateKey(ssl.key as string);
    createSecureContext(kafkajsTlsOptions(ssl)); // Node accepts the CA, certificate and key together
  });

  it('a client certificate needs its key; an encrypted key needs ssl.key.password, which becomes the passphrase', () => {
    refused(`security.protocol=SSL\nssl.keystore.certificate.chain=${CERT.replace(/\n/g, ' ')}`, /ssl\.keystore\.certificate\.chain and ssl\.keystore\.key go together/);
    const encrypted = '-----BEGIN ENCRYPTED PRIVATE KEY----- AAAA -----END ENCRYPTED PRIVATE KEY-----';
    refused(`security.protocol=SSL\nssl.keystore.certificate.chain=${CERT.replace(/\n/g, ' ')}\nssl.keystore.key=${encrypted}`, /the client key is encrypted; set ssl\.key\.password/);
    const ssl = map(`security.protocol=SSL\nssl.keystore.certificate.chain=${CERT.replace(/\n/g, ' ')}\nssl.keystore.key=${encrypted}\nssl.key.password=pw`).settings.ssl;
    assert.equal(ssl && kafkajsTlsOptions(ssl)?.passphrase, 'pw');
  });

  it('ssl.endpoint.identification.algorithm= (empty) verifies the chain but not the host name', () => {
    const ssl = map('security.protocol=SSL\nssl.endpoint.identification.algorithm=').settings.ssl;
    assert.ok(ssl);
    const tls = kafkajsTlsOptions(ssl);
    assert.equal(tls?.rejectUnauthorized, true);
    assert.equal(typeof tls?.checkServerIdentity, 'function');
    assert.equal(tls?.checkServerIdentity?.('other.example', {} as never), undefined);
    const strict = kafkajsTlsOptions(map('security.protocol=SSL\nssl.endpoint.identification.algorithm=https').settings.ssl as never);
    assert.equal(strict?.checkServerIdentity, undefined, 'https (the default) leaves Node\'s host name check in place');
    refused('security.protocol=SSL\nssl.endpoint.identification.algorithm=http', /ssl\.endpoint\.identification\.algorithm: "http" is not supported/);
  });

  it('warns, naming them, about keys vigil does not use and ssl/sasl keys the protocol does not use', () => {
    const { warnings } = map(`security.protocol=PLAINTEXT\nretries=3\ngroup.id=x\n${PLAIN_JAAS}\nssl.truststore.location=ca.pem`);
    assert.deepEqual(warnings, [
      'client.properties: ignoring ssl.truststore.location, sasl.jaas.config: security.protocol is PLAINTEXT, which does not use them',
      'client.properties: ignoring retries, group.id: not used by vigil',
    ]);
    assert.ok(!warnings.join('\n').includes('s3cr'), 'no secret in a warning');
  });

  it('without security.protocol, says nothing about TLS or SASL (--config\'s stay) and warns that ssl/sasl keys are unused', () => {
    const { settings, warnings } = map(`${PLAIN_JAAS}\nbootstrap.servers=SASL_SSL://k1:9093, k2:9093`);
    assert.deepEqual(settings, { brokers: ['k1:9093', 'k2:9093'] });
    assert.match(warnings[0] as string, /ignoring sasl\.jaas\.config: security\.protocol is not set \(the Java default is PLAINTEXT\)/);
  });

  it('reads request.timeout.ms and socket.connection.setup.timeout.ms as milliseconds', () => {
    assert.deepEqual(map('request.timeout.ms=30000\nsocket.connection.setup.timeout.ms=5000').settings, { requestTimeoutMs: 30_000, connectionTimeoutMs: 5000 });
    refused('request.timeout.ms=30s', /request\.timeout\.ms: expected a whole number of milliseconds/);
  });
});

describe('sasl.jaas.config', () => {
  it('parses module, flag and options; quoted values keep spaces, = and ; and unescape \\" \\\\ \\n', () => {
    const e = parseJaasConfig('  org.x.Mod  Required a=b c="d e=f;g" h="q\\"\\\\\\n";  ');
    assert.equal(e.loginModule, 'org.x.Mod');
    assert.equal(e.flag, 'required');
    assert.deepEqual(Object.fromEntries(e.options), { a: 'b', c: 'd e=f;g', h: 'q"\\\n' });
  });

  it('refuses a missing ";", an unclosed quote, a missing flag and two modules', () => {
    assert.throws(() => parseJaasConfig('org.x.Mod required a="b"'), /expected ";"/);
    assert.throws(() => parseJaasConfig('org.x.Mod required a="b;'), /not closed/);
    assert.throws(() => parseJaasConfig('org.x.Mod a="b";'), /expected "required"/);
    assert.throws(() => parseJaasConfig('org.x.Mod required; org.y.Mod required;'), /more than one login module/);
  });
});

describe('pemBlocks', () => {
  it('takes only blocks of the wanted kind, skipping text between them', () => {
    assert.deepEqual(pemBlocks(`junk\n${CERT}more junk\n${KEY}`, 'CERTIFICATE'), [CERT]);
    assert.deepEqual(pemBlocks(CERT + KEY, 'PRIVATE KEY'), [KEY]);
  });
});

describe('kafkajs options from vigil settings', () => {
  it('plaintext: no TLS options, no SASL', () => {
    assert.equal(kafkajsTlsOptions(false), undefined);
    assert.equal(kafkajsSaslOptions(undefined), undefined);
  });

  it('passes CA, certificate, key, servername and rejectUnauthorized through; SASL as mechanism, username, password', () => {
    assert.deepEqual(kafkajsTlsOptions({ ca: 'A', cert: 'C', key: 'K', rejectUnauthorized: false, servername: 's' }), {
      ca: 'A', cert: 'C', key: 'K', rejectUnauthorized: false, servername: 's',
    });
    assert.deepEqual(kafkajsSaslOptions({ mechanism: 'scram-sha-512', username: 'u', password: 'p' }), { mechanism: 'scram-sha-512', username: 'u', password: 'p' });
  });
});

describe('--command-config precedence: flags > --command-config > --config', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-command-config-'));
  const file = path.join(dir, 'client.properties');
  fs.writeFileSync(file, `bootstrap.servers=file:9092\nclient.id=from-file\nsecurity.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n${PLAIN_JAAS}\nlinger.ms=5\n`);
  const fromConfig: KafkaConfig = {
    brokers: ['config:9092'], clientId: 'from-config', ssl: { rejectUnauthorized: true, ca: 'CONFIG-CA' },
    sasl: { mechanism: 'scram-sha-256', username: 'cfg', password: 'cfgpw' }, connectionTimeoutMs: 4000, requestTimeoutMs: 20_000,
  };

  it('the file overrides --config, field by field', () => {
    const warned: string[] = [];
    const k = kafkaConfigFromOptions({ commandConfig: file }, fromConfig, (l) => warned.push(l));
    assert.deepEqual(k.brokers, ['file:9092']);
    assert.equal(k.clientId, 'from-file');
    assert.equal(k.ssl, false, 'SASL_PLAINTEXT: no TLS, whatever --config said');
    assert.deepEqual(k.sasl, { mechanism: 'plain', username: 'alice', password: 's3cr=t;"x\\y' });
    assert.equal(k.connectionTimeoutMs, 4000, '--config still supplies what the file leaves out');
    assert.deepEqual(warned, [`--command-config ${file}: ignoring linger.ms: not used by vigil`]);
  });

  it('explicit flags override the file; --bootstrap-server is --brokers', () => {
    const k = kafkaConfigFromOptions(
      { commandConfig: file, bootstrapServer: 'flag:9092', clientId: 'flag', saslMechanism: 'scram-sha-512', saslUsername: 'f', saslPassword: 'fp' },
      fromConfig,
      () => undefined,
    );
    assert.deepEqual(k.brokers, ['flag:9092']);
    assert.equal(k.clientId, 'flag');
    assert.deepEqual(k.sasl, { mechanism: 'scram-sha-512', username: 'f', password: 'fp' });
  });

  it('--brokers and --bootstrap-server that disagree is a usage error; a bad --bootstrap-server is named', () => {
    assert.throws(() => kafkaConfigFromOptions({ brokers: 'a:1', bootstrapServer: 'b:1' }), (e) => isVigilError(e) && e.code === 'USAGE');
    assert.throws(() => kafkaConfigFromOptions({ bootstrapServer: 'nohost' }), /^Error: --bootstrap-server: "nohost" is not host:port|--bootstrap-server: "nohost" is not host:port/);
  });

  it('--ssl-insecure on top of the file keeps the file\'s CA but stops verifying', () => {
    const tlsFile = path.join(dir, 'tls.properties');
    fs.writeFileSync(tlsFile, `security.protocol=SSL\nssl.truststore.certificates=${CERT.replace(/\n/g, ' ')}\n`);
    const k = kafkaConfigFromOptions({ brokers: 'b:1', commandConfig: tlsFile, sslInsecure: true }, undefined, () => undefined);
    assert.ok(k.ssl);
    assert.equal(k.ssl.ca, CERT);
    assert.equal(k.ssl.rejectUnauthorized, false);
  });

  it('layer: sasl null removes SASL from below', () => {
    assert.equal(layer(fromConfig, { sasl: null }).sasl, undefined);
    assert.deepEqual(layer(fromConfig, {}).sasl, fromConfig.sasl);
  });

  it('a missing file is a usage error naming it', () => {
    assert.throws(() => kafkaConfigFromOptions({ commandConfig: path.join(dir, 'nope') }), (e) => isVigilError(e) && e.code === 'USAGE' && /cannot read the file \(ENOENT\)/.test(e.message));
  });
});
