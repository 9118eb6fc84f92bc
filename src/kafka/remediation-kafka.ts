/**
 * The remediation executor's Kafka (./remediation-port.ts) over raw requests: its own
 * connections, so a mutation never queues behind the monitor's requests, and every
 * request goes through a broker outside `avoid` — never through the sick broker, which
 * may accept a connection and answer nothing.
 */
import { describeError, VigilError } from '../errors';
import type { KafkaConfig } from '../config/types';
import type { Logger } from '../log';
import type { RemediationKafka } from './remediation-port';
import {
  type ConfigResourceChange,
  type ConfigResourceOutcome,
  type ElectionType,
  type ReassignmentTarget,
  alterPartitionReassignmentsRequest,
  assertBrokerSpeaks,
  electLeadersRequest,
  incrementalAlterConfigsRequest,
  listPartitionReassignmentsRequest,
} from './admin-mutations';
import { CLUSTER_METADATA, addressOf, describeTopicConfigsRequest } from './kafkajs-admin';
import { KafkaConnections, type RawRequest, isConnectionError } from './kafkajs-wire';
import type { BrokerInfo, ClusterMetadata, TopicPartition } from './types';

export class KafkaRemediation implements RemediationKafka {
  private readonly conns: KafkaConnections;
  /** broker id → address, from the last metadata answer */
  private addresses = new Map<number, string>();

  constructor(private readonly config: KafkaConfig, logger: Logger) {
    this.conns = new KafkaConnections(config, logger);
  }

  knowBrokers(brokers: readonly BrokerInfo[]): void {
    for (const b of brokers) this.addresses.set(b.nodeId, addressOf(b));
  }

  async metadata(avoid: ReadonlySet<number>): Promise<ClusterMetadata> {
    const md = await this.send(CLUSTER_METADATA, avoid);
    for (const b of md.brokers) this.addresses.set(b.nodeId, addressOf(b));
    return md;
  }

  async minIsr(topics: readonly string[], avoid: ReadonlySet<number>): Promise<ReadonlyMap<string, number>> {
    const out = new Map<string, number>();
    if (topics.length === 0) return out;
    for (const r of await this.send(describeTopicConfigsRequest(topics, ['min.insync.replicas']), avoid)) {
      const value = r.errorCode === 0 ? Number(r.configs.get('min.insync.replicas')) : NaN;
      if (Number.isInteger(value) && value > 0) out.set(r.name, value);
    }
    return out;
  }

  listReassignments(avoid: ReadonlySet<number>) {
    return this.send(listPartitionReassignmentsRequest(), avoid);
  }

  alterReassignments(targets: readonly ReassignmentTarget[], avoid: ReadonlySet<number>, mayAct: () => boolean) {
    return this.send(alterPartitionReassignmentsRequest(targets), avoid, mayAct);
  }

  electLeaders(type: ElectionType, partitions: readonly TopicPartition[], avoid: ReadonlySet<number>, mayAct: () => boolean) {
    return this.send(electLeadersRequest(type, partitions), avoid, mayAct);
  }

  /**
   * Topic configs through any broker; a broker's own configs through that broker, which is
   * the only one that accepts them ("Unexpected broker id" elsewhere).
   */
  async alterConfigs(changes: readonly ConfigResourceChange[], avoid: ReadonlySet<number>, mayAct: () => boolean): Promise<ConfigResourceOutcome[]> {
    const topics = changes.filter((c) => c.type === 'topic');
    const out: ConfigResourceOutcome[] = topics.length > 0 ? await this.send(incrementalAlterConfigsRequest(topics), avoid, mayAct) : [];
    for (const c of changes) {
      if (c.type !== 'broker') continue;
      const id = Number(c.name);
      const address = this.addresses.get(id);
      if (address === undefined || avoid.has(id)) {
        out.push({ type: 'broker', name: c.name, error: 'BROKER_NOT_AVAILABLE', message: `broker ${c.name} is not answering; its own configs can only be changed through it` });
        continue;
      }
      out.push(...(await this.sendTo(address, incrementalAlterConfigsRequest([c]), mayAct)));
    }
    return out;
  }

  close(): Promise<void> {
    return this.conns.close();
  }

  private async sendTo<T>(address: string, req: RawRequest<T>, mayAct: () => boolean): Promise<T> {
    const broker = await this.conns.connect(address);
    assertBrokerSpeaks(broker as never, req, address);
    assertMayAct(mayAct, req);
    try {
      return await this.conns.send(broker, req);
    } catch (err) {
      if (isConnectionError(err)) await this.conns.drop(address);
      throw err;
    }
  }

  /**
   * Sends through the first broker outside `avoid` that connects: the brokers of the last
   * metadata answer, then the bootstrap addresses (an address of an avoided broker is
   * skipped in both). A broker that fails the request on the connection is dropped and
   * the next one tried; a broker's refusal (an answer) is returned or thrown as it is.
   */
  private async send<T>(req: RawRequest<T>, avoid: ReadonlySet<number>, mayAct?: () => boolean): Promise<T> {
    const avoided = new Set([...avoid].map((id) => this.addresses.get(id)).filter((a): a is string => a !== undefined));
    const candidates = [...new Set([...this.addresses.values(), ...this.config.brokers])].filter((a) => !avoided.has(a));
    const failures: string[] = [];
    for (const address of candidates) {
      let broker: unknown;
      try {
        broker = await this.conns.connect(address);
      } catch (err) {
        failures.push(`${address} (${describeError(err)})`);
        continue;
      }
      assertBrokerSpeaks(broker as never, req, address);
      if (mayAct) assertMayAct(mayAct, req);
      try {
        return await this.conns.send(broker, req);
      } catch (err) {
        if (!isConnectionError(err)) throw err;
        failures.push(`${address} (${describeError(err)})`);
        await this.conns.drop(address);
      }
    }
    throw new VigilError('KAFKA_UNREACHABLE', `${req.apiName}: no broker outside ${[...avoid].join(', ') || 'none'} answered; tried ${failures.join(', ') || 'none'}`, { retriable: true });
  }
}

/** Right before a mutation is written: the caller's lease must still hold (docs/design.md §5.3). */
function assertMayAct(mayAct: () => boolean, req: RawRequest<unknown>): void {
  if (mayAct()) return;
  throw new VigilError('LEASE_LOST', `${req.apiName} not sent: this replica no longer holds the lease of the term it acts in`);
}
