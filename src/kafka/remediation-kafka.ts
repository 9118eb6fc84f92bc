/**
 * The remediation executor's Kafka (./remediation-port.ts) over raw requests: its own
 * connections, so a mutation never queues behind the monitor's requests, and every
 * request goes through a broker outside `avoid` — never through the sick broker, which
 * may accept a connection and answer nothing.
 *
 * With `kafka.controllers` (KIP-919 bootstrap controllers) the partition mutations go
 * straight to the active controller instead: a broker forwards them to the controller it
 * knows and, when that controller hangs, holds them for its own request timeout (30 s)
 * even after the quorum elected another — measured in docs/benchmarks.md (remediation-hung).
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
import { describeQuorumRequest } from './describe-quorum';
import { CLUSTER_METADATA, addressOf, describeTopicConfigsRequest, metadataRequest } from './kafkajs-admin';
import { KafkaConnections, type RawRequest, isConnectionError } from './kafkajs-wire';
import type { BrokerInfo, ClusterMetadata, TopicPartition } from './types';

export class KafkaRemediation implements RemediationKafka {
  private readonly conns: KafkaConnections;
  /** broker id → address, from the last metadata answer */
  private addresses = new Map<number, string>();
  /** liveness pings, on connections of their own: a ping must not queue behind a request */
  private readonly pingConns: KafkaConnections;
  /** requests in flight per address, each with how to abandon it */
  private readonly inFlight = new Map<string, Set<(err: Error) => void>>();

  constructor(private readonly config: KafkaConfig, logger: Logger) {
    this.conns = new KafkaConnections(config, logger);
    this.pingConns = new KafkaConnections(config, logger);
  }

  async stillSilent(broker: number, windowMs: number): Promise<boolean> {
    const address = this.addresses.get(broker);
    if (address === undefined) return true;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'silent'>((resolve) => (timer = setTimeout(() => resolve('silent'), windowMs)));
    const ping = (async () => {
      const conn = await this.pingConns.connect(address);
      await this.pingConns.send(conn, { ...METADATA_NO_TOPICS, requestTimeoutMs: windowMs });
      return 'answered' as const;
    })();
    ping.catch(() => undefined);
    try {
      const first = await Promise.race([ping.catch(() => 'failed' as const), deadline]);
      if (first !== 'answered') await this.pingConns.drop(address);
      return first !== 'answered';
    } finally {
      clearTimeout(timer);
    }
  }

  knowBrokers(brokers: readonly BrokerInfo[], silent: ReadonlySet<number>): void {
    for (const b of brokers) {
      const address = addressOf(b);
      this.addresses.set(b.nodeId, address);
      const waiting = this.inFlight.get(address);
      if (!silent.has(b.nodeId) || !waiting || waiting.size === 0) continue;
      const err = new VigilError('KAFKA_UNREACHABLE', `broker ${b.nodeId} (${address}) fell silent under the request; abandoned`, { retriable: true });
      for (const abandon of [...waiting]) abandon(err);
      void this.conns.drop(address);
    }
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
    return this.sendToController(listPartitionReassignmentsRequest(), avoid);
  }

  alterReassignments(targets: readonly ReassignmentTarget[], avoid: ReadonlySet<number>, mayAct: () => boolean) {
    return this.sendToController(alterPartitionReassignmentsRequest(targets), avoid, mayAct);
  }

  electLeaders(type: ElectionType, partitions: readonly TopicPartition[], avoid: ReadonlySet<number>, mayAct: () => boolean) {
    return this.sendToController(electLeadersRequest(type, partitions), avoid, mayAct);
  }

  /**
   * Topic configs through any broker; a broker's own configs through that broker, which is
   * the only one that accepts them ("Unexpected broker id" elsewhere).
   */
  async alterConfigs(changes: readonly ConfigResourceChange[], avoid: ReadonlySet<number>, mayAct: () => boolean): Promise<ConfigResourceOutcome[]> {
    const topics = changes.filter((c) => c.type === 'topic');
    const out: ConfigResourceOutcome[] = topics.length > 0 ? await this.sendToController(incrementalAlterConfigsRequest(topics), avoid, mayAct) : [];
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

  async close(): Promise<void> {
    await Promise.all([this.conns.close(), this.pingConns.close()]);
  }

  /**
   * A request the controller handles: to the active controller when `kafka.controllers` is
   * set, otherwise through a broker (which forwards it). The active controller is the one
   * that answers DescribeQuorum as leader; all are asked at once, each bounded by
   * CONTROLLER_PROBE_MS, so a hung controller costs that long, not a request timeout. No
   * leader (an election under way) or a NOT_CONTROLLER answer (it just lost leadership)
   * throws a retriable error: the executor runs the step again on its next pass.
   */
  private async sendToController<T>(req: RawRequest<T>, avoid: ReadonlySet<number>, mayAct?: () => boolean): Promise<T> {
    const controllers = this.config.controllers ?? [];
    if (controllers.length === 0) return this.send(req, avoid, mayAct);
    const address = await this.activeController(controllers);
    return this.sendTo(address, req, mayAct);
  }

  /** The controller that answers DescribeQuorum as leader first; every one is asked at once. */
  private activeController(controllers: readonly string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const heard = new Map<string, string>();
      let settled = false;
      const settle = (address?: string): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (address !== undefined) return resolve(address);
        const why = controllers.map((a) => `${a}: ${heard.get(a) ?? `no answer within ${CONTROLLER_PROBE_MS} ms`}`);
        reject(new VigilError('KAFKA_UNREACHABLE', `no active controller among kafka.controllers (an election under way?): ${why.join('; ')}`, { retriable: true }));
      };
      const timer = setTimeout(() => settle(), CONTROLLER_PROBE_MS);
      for (const address of controllers) {
        this.sendTo(address, describeQuorumRequest(CONTROLLER_PROBE_MS), undefined).then(
          (q) => {
            if (q.state === 'described' && q.leaderId !== null) return settle(address);
            heard.set(address, q.state === 'described' ? 'no leader' : q.state === 'unanswered' ? q.error : q.reason);
            if (heard.size === controllers.length) settle();
          },
          (err: unknown) => {
            heard.set(address, describeError(err));
            if (heard.size === controllers.length) settle();
          },
        );
      }
    });
  }

  private async sendTo<T>(address: string, req: RawRequest<T>, mayAct: (() => boolean) | undefined): Promise<T> {
    const broker = await this.conns.connect(address);
    assertBrokerSpeaks(broker as never, req, address);
    if (mayAct) assertMayAct(mayAct, req);
    try {
      return await this.watched(address, this.conns.send(broker, req));
    } catch (err) {
      if (isConnectionError(err)) await this.conns.drop(address);
      throw err;
    }
  }

  /** `answer`, or a failure as soon as knowBrokers reports its broker silent. */
  private async watched<T>(address: string, answer: Promise<T>): Promise<T> {
    let abandon: (err: Error) => void = () => undefined;
    const abandoned = new Promise<never>((_, reject) => {
      abandon = reject;
    });
    let waiting = this.inFlight.get(address);
    if (!waiting) this.inFlight.set(address, (waiting = new Set()));
    waiting.add(abandon);
    answer.catch(() => undefined); // an abandoned request's late failure is nobody's
    try {
      return await Promise.race([answer, abandoned]);
    } finally {
      waiting.delete(abandon);
      if (waiting.size === 0) this.inFlight.delete(address);
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
        return await this.watched(address, this.conns.send(broker, req));
      } catch (err) {
        if (!isConnectionError(err)) throw err;
        failures.push(`${address} (${describeError(err)})`);
        await this.conns.drop(address);
      }
    }
    throw new VigilError('KAFKA_UNREACHABLE', `${req.apiName}: no broker outside ${[...avoid].join(', ') || 'none'} answered; tried ${failures.join(', ') || 'none'}`, { retriable: true });
  }
}

/** The smallest request a broker answers: a liveness ping. */
const METADATA_NO_TOPICS = metadataRequest([]);

/**
 * How long a controller may take to say whether it leads the quorum. A hung controller
 * costs this much per step; a live one answers in milliseconds.
 */
const CONTROLLER_PROBE_MS = 800;

/** Right before a mutation is written: the caller's lease must still hold (docs/design.md §5.3). */
function assertMayAct(mayAct: () => boolean, req: RawRequest<unknown>): void {
  if (mayAct()) return;
  throw new VigilError('LEASE_LOST', `${req.apiName} not sent: this replica no longer holds the lease of the term it acts in`);
}
