/**
 * `vigil doctor`: checks a config against the real Kafka, Redis, peers and channels it
 * names, before (or while) vigil runs with it — docs/doctor.md lists every check. The
 * probes run at once, each bounded by its own timeouts; the report keeps a fixed order:
 * the election, Kafka, Redis, the peers, the channels.
 */
import { X509Certificate } from 'node:crypto';
import type { VigilConfig } from '../config/types';
import type { Logger } from '../log';
import { type Check, type DoctorReport } from './check';
import { kafkaPrincipal } from './kafka-acl';
import { kafkaChecks } from './kafka-checks';
import { probeKafka } from './kafka-probe';
import { quorumCheck } from './peer-checks';
import { probePeers } from './peer-probe';
import { probeRedis } from './redis-probe';
import { channelsCheck, sendTestPages } from './test-page';

export { doctorExitCode, doctorJson, renderDoctorReport, type Check, type DoctorReport } from './check';

export interface DoctorOptions {
  /** The config file, as the report names it. */
  readonly configFile: string;
  /** Send a test page through every channel (otherwise they are only listed). */
  readonly sendTestPage: boolean;
  readonly logger?: Logger;
}

export async function runDoctor(config: VigilConfig, opts: DoctorOptions): Promise<DoctorReport> {
  const [kafka, redis, peers, alerting] = await Promise.all([
    kafkaSection(config, opts.logger),
    probeRedis(config),
    probePeers(config),
    opts.sendTestPage ? sendTestPages(config) : Promise.resolve([channelsCheck(config)]),
  ]);
  const checks: Check[] = [quorumCheck(config), ...kafka, ...redis, ...peers, ...alerting];
  return { config: opts.configFile, nodeId: config.node.id, checkedAt: new Date().toISOString(), checks };
}

async function kafkaSection(config: VigilConfig, logger?: Logger): Promise<Check[]> {
  const facts = await probeKafka(config, logger);
  const { ssl, sasl } = config.kafka;
  const subject = ssl !== false && ssl.cert !== undefined ? certificateSubject(ssl.cert) : undefined;
  return kafkaChecks(facts, config.kafka, { principal: kafkaPrincipal(sasl, subject), bootstrap: config.kafka.brokers[0] ?? '' }, config.monitor.pollIntervalMs);
}

function certificateSubject(pem: string): string | undefined {
  try {
    return new X509Certificate(pem).subject;
  } catch {
    return undefined;
  }
}
