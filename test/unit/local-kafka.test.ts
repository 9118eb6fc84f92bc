import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { DEFAULT_KAFKA_VERSION, KAFKA_VERSIONS, defaultServerProperties, kafkaInstall, kafkaLoggingArg, loggingProperties, newClusterId, repoRoot } from '../../src/local/kafka';

describe('newClusterId', () => {
  it('never starts with "-" (kafka-storage would read it as an option) and is 22 base64url characters', () => {
    const draws = [Buffer.alloc(16, 0xf8), Buffer.alloc(16, 0x00)];
    assert.ok(Buffer.alloc(16, 0xf8).toString('base64url').startsWith('-'), 'the first draw is one the tool would reject');
    let calls = 0;
    const id = newClusterId(() => draws[calls++] as Buffer);
    assert.equal(calls, 2);
    assert.equal(id, 'AAAAAAAAAAAAAAAAAAAAAA');
    for (let i = 0; i < 1000; i++) assert.match(newClusterId(), /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  });
});

describe('the Kafka versions of the local stack (KAFKA_VERSIONS)', () => {
  const pom = fs.readFileSync(path.join(repoRoot, 'deploy', 'local-kafka', 'pom.xml'), 'utf8');
  /** profile id → <kafka.version>, as scripts/setup.sh reads them */
  const pomProfiles = new Map([...pom.matchAll(/<profile>\s*<id>([^<]+)<\/id>[\s\S]*?<kafka\.version>([^<]+)<\/kafka\.version>[\s\S]*?<\/profile>/g)].map((m) => [m[1], m[2]]));

  it('are the profiles of deploy/local-kafka/pom.xml, which scripts/setup.sh fetches, and the default is the one mvn picks by default', () => {
    assert.deepEqual(new Map(KAFKA_VERSIONS.map((v) => [v.pomProfile, v.version])), pomProfiles);
    const active = /<profile>\s*<id>([^<]+)<\/id>\s*<activation>\s*<activeByDefault>true<\/activeByDefault>/.exec(pom);
    assert.equal(pomProfiles.get(active?.[1] as string), DEFAULT_KAFKA_VERSION);
  });

  it('default to 4.x, log through log4j2 on 4.x and log4j 1 on 3.x, each from a directory of its own', () => {
    assert.match(DEFAULT_KAFKA_VERSION, /^4\./);
    assert.deepEqual(
      KAFKA_VERSIONS.map((v) => [v.version.split('.')[0], v.logging]),
      KAFKA_VERSIONS.map((v) => [v.version.split('.')[0], v.version.startsWith('3.') ? 'log4j1' : 'log4j2']),
    );
    const dirs = KAFKA_VERSIONS.map((v) => kafkaInstall(v.version));
    assert.equal(new Set(dirs.map((d) => d.libsDir)).size, dirs.length);
    assert.equal(new Set(dirs.map((d) => d.classArchive)).size, dirs.length, 'a class archive fits only the jars it was made from');
    assert.equal(kafkaInstall().version, DEFAULT_KAFKA_VERSION);
  });

  it('refuses any other version, naming those there are', () => {
    assert.throws(() => kafkaInstall('3.8.0'), /Kafka 3\.8\.0 is not one the local stack runs; choose one of 4\.4\.0, 3\.9\.1/);
  });

  it('configure the logging each version reads: log4j2 properties on 4.x, log4j 1 on 3.x, request log only when asked', () => {
    const v4 = kafkaInstall('4.4.0');
    const v3 = kafkaInstall('3.9.1');
    assert.equal(kafkaLoggingArg(v4, '/d/log4j2.properties'), '-Dlog4j2.configurationFile=/d/log4j2.properties');
    assert.equal(kafkaLoggingArg(v3, '/d/log4j.properties'), '-Dlog4j.configuration=file:/d/log4j.properties');
    const l4 = loggingProperties(v4, false);
    assert.match(l4, /^rootLogger\.level = INFO$/m);
    assert.match(l4, /^logger\.(q\d+)\.name = kafka\.request\.logger$/m);
    const requestLogger = /^logger\.(q\d+)\.name = kafka\.request\.logger$/m.exec(l4)?.[1] as string;
    assert.match(l4, new RegExp(`^logger\\.${requestLogger}\\.level = WARN$`, 'm'));
    assert.match(loggingProperties(v4, true), new RegExp(`^logger\\.${requestLogger}\\.level = DEBUG$`, 'm'));
    assert.doesNotMatch(l4, /log4j\./);
    const l3 = loggingProperties(v3, false);
    assert.match(l3, /^log4j\.rootLogger=INFO, stdout$/m);
    assert.match(l3, /^log4j\.logger\.kafka\.request\.logger=WARN$/m);
    assert.match(loggingProperties(v3, true), /^log4j\.logger\.kafka\.request\.logger=DEBUG$/m);
  });

  it('size the share-group state topic like the other internal topics on 4.x, and leave it out on 3.9', () => {
    const v4 = defaultServerProperties(3, '4.4.0');
    assert.equal(v4['share.coordinator.state.topic.replication.factor'], 3);
    assert.equal(v4['share.coordinator.state.topic.min.isr'], 2);
    assert.equal(v4['share.coordinator.state.topic.min.isr'], v4['transaction.state.log.min.isr']);
    const single = defaultServerProperties(1, '4.4.0');
    assert.equal(single['share.coordinator.state.topic.replication.factor'], 1);
    assert.equal(single['share.coordinator.state.topic.min.isr'], 1);
    assert.deepEqual(Object.keys(defaultServerProperties(3, '3.9.1')).filter((k) => k.startsWith('share.')), []);
  });
});

describe('the compatibility run (npm run test:compat)', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> };

  it('runs setup first, then the integration files that start Kafka on every version but the default', () => {
    const compat = pkg.scripts['test:compat'] ?? '';
    assert.match(compat, /^bash scripts\/setup\.sh && \.cache\/node\/bin\/node scripts\/run-tests\.js /);
    const versions = [...compat.matchAll(/--kafka-version (\S+)/g)].map((m) => m[1]);
    assert.deepEqual(versions, KAFKA_VERSIONS.slice(1).map((v) => v.version));
    assert.match(compat, / kafka$/, 'the `kafka` suite: integration files that import the Kafka harness');
  });

  it('runs in CI after npm test (.ci/run)', () => {
    const ci = fs.readFileSync(path.join(repoRoot, '.ci', 'run'), 'utf8');
    assert.match(ci, /^npm test && npm run test:compat$/m);
  });
});
