/**
 * Which Kafka ACLs vigil needs, and how `vigil doctor` names one that is missing (pure).
 *
 * The requests vigil sends (src/kafka/kafkajs-admin.ts for the monitor and `vigil lag`,
 * src/kafka/kafkajs-canary.ts for the canary) and what Kafka's authorizer checks for each
 * (Kafka 3.9, KafkaApis):
 *
 *   Metadata (all topics)              DESCRIBE on each TOPIC — a topic without it is left
 *                                      out of the answer silently, so vigil never sees it
 *   ListGroups                         DESCRIBE on the CLUSTER lists every group; without it
 *                                      only the groups with DESCRIBE on GROUP, silently
 *   DescribeQuorum                     DESCRIBE on the CLUSTER (CLUSTER_AUTHORIZATION_FAILED)
 *   FindCoordinator, DescribeGroups,   DESCRIBE on the GROUP (GROUP_AUTHORIZATION_FAILED);
 *   OffsetFetch                        OffsetFetch also leaves out topics without DESCRIBE
 *   ListOffsets                        DESCRIBE on the TOPIC (TOPIC_AUTHORIZATION_FAILED)
 *   Fetch                              READ on the TOPIC (TOPIC_AUTHORIZATION_FAILED)
 *   DescribeConfigs (topics)           DESCRIBE_CONFIGS on the TOPIC
 *   canary: Produce / CreateTopics /   WRITE / CREATE (on the CLUSTER or the TOPIC) /
 *   CreatePartitions                   ALTER on its TOPIC, besides DESCRIBE and READ
 *   commit stream: Metadata, Fetch     DESCRIBE, READ on TOPIC __consumer_offsets (stream mode;
 *   of __consumer_offsets              its own line, kafka-checks.ts offsetsStreamCheck)
 *
 * READ, WRITE and ALTER imply DESCRIBE (Kafka's implied operations). A denial shows up as an
 * error code in the answer (29, 30, 31 below) or, where Kafka answers silently, in the
 * authorized-operations fields of Metadata v8 (cluster and topics), which the doctor asks
 * for. Docs: docs/doctor.md, "Kafka ACLs".
 */
import { check, type Check, listNames, shellWord } from './check';

export type AclOperation = 'READ' | 'WRITE' | 'CREATE' | 'ALTER' | 'DESCRIBE' | 'DESCRIBE_CONFIGS';
export type AclResourceType = 'CLUSTER' | 'TOPIC' | 'GROUP';

/** org.apache.kafka.common.acl.AclOperation codes: bit n of an authorized-operations field. */
const OPERATION_CODES: Readonly<Record<AclOperation, number>> = {
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  ALTER: 7,
  DESCRIBE: 8,
  DESCRIBE_CONFIGS: 10,
};

/** The value Kafka puts in an authorized-operations field it was not asked for (or lacks). */
export const AUTHORIZED_OPERATIONS_UNKNOWN = -2147483648;

/** The operations an authorized-operations bit field allows; null when Kafka did not say. */
export function authorizedOperations(bits: number): ReadonlySet<AclOperation> | null {
  if (bits === AUTHORIZED_OPERATIONS_UNKNOWN) return null;
  const ops = new Set<AclOperation>();
  for (const [op, code] of Object.entries(OPERATION_CODES) as [AclOperation, number][]) {
    if ((bits & (1 << code)) !== 0) ops.add(op);
  }
  return ops;
}

const DENIAL_CODES: Readonly<Record<number, AclResourceType>> = {
  29: 'TOPIC', // TOPIC_AUTHORIZATION_FAILED
  30: 'GROUP', // GROUP_AUTHORIZATION_FAILED
  31: 'CLUSTER', // CLUSTER_AUTHORIZATION_FAILED
};

/** The resource type an error code says access to was denied, or undefined for any other code. */
export function deniedResourceType(errorCode: number): AclResourceType | undefined {
  return DENIAL_CODES[errorCode];
}

/** Kafka's fixed name of the cluster resource. */
export const CLUSTER_RESOURCE = 'kafka-cluster';

/** One access vigil needs, as the doctor tested it against the brokers. */
export interface AccessFact {
  readonly operation: AclOperation;
  readonly resourceType: AclResourceType;
  /** The topic or group; CLUSTER_RESOURCE for the cluster. */
  readonly name: string;
  readonly allowed: boolean;
  /** The request that told, e.g. "Fetch", "Metadata (authorized operations)". */
  readonly via: string;
  /** Kafka's answer when denied, e.g. "TOPIC_AUTHORIZATION_FAILED". */
  readonly error?: string;
}

/** One ACL vigil needs: the operation on a resource type, why, and what missing it means. */
export interface AclRequirement {
  readonly operation: AclOperation;
  readonly resourceType: AclResourceType;
  /** The requests of vigil's that need it. */
  readonly requests: string;
  /** What vigil cannot do without it. */
  readonly without: string;
  /** 'fail': vigil misses lag or groups without it; 'warn': it loses a detail. */
  readonly severity: 'fail' | 'warn';
  /** Shown when nothing was there to test (no watched topic or group). */
  readonly untested: string;
}

/** The ACLs of the monitor (and of `vigil lag`), in the order the doctor reports them. */
export const MONITOR_ACLS: readonly AclRequirement[] = [
  {
    operation: 'DESCRIBE',
    resourceType: 'CLUSTER',
    requests: 'ListGroups, DescribeQuorum',
    without: 'ListGroups lists only groups with a DESCRIBE ACL of their own, so any other group is silently not monitored; and the KRaft controller quorum is not watched',
    severity: 'warn',
    untested: 'the brokers do not report the cluster authorized operations (Metadata v8)',
  },
  {
    operation: 'DESCRIBE',
    resourceType: 'TOPIC',
    requests: 'Metadata, ListOffsets',
    without: 'the topic is left out of Metadata, so vigil never sees its partitions, leaders or lag',
    severity: 'fail',
    untested: 'no topic matching monitor.topics is visible: either none exists or DESCRIBE on TOPIC is missing for all of them',
  },
  {
    operation: 'READ',
    resourceType: 'TOPIC',
    requests: 'Fetch',
    without: "vigil cannot read the record at a group's committed offset, so it cannot tell how old the lag is",
    severity: 'fail',
    untested: 'no topic to test',
  },
  {
    operation: 'DESCRIBE_CONFIGS',
    resourceType: 'TOPIC',
    requests: 'DescribeConfigs',
    without: 'vigil cannot read min.insync.replicas and assumes 1, so PartitionUnderMinIsr never fires',
    severity: 'warn',
    untested: 'no topic to test',
  },
  {
    operation: 'DESCRIBE',
    resourceType: 'GROUP',
    requests: 'FindCoordinator, DescribeGroups, OffsetFetch',
    without: "vigil cannot read the group's committed offsets, so it cannot measure its lag",
    severity: 'fail',
    untested: 'no consumer group matching monitor.groups was listed (none yet, or none vigil may DESCRIBE)',
  },
];

/** The canary's ACLs on its own topic (docs/canary.md), beyond DESCRIBE and READ. */
export function canaryAcls(topicExists: boolean): AclRequirement[] {
  const untested = topicExists
    ? 'the brokers do not report topic authorized operations (Metadata v8)'
    : 'the canary topic does not exist yet (vigil creates it); run vigil doctor again once it does';
  const out: AclRequirement[] = [
    { operation: 'WRITE', resourceType: 'TOPIC', requests: 'Produce', without: 'the canary cannot produce its records', severity: 'fail', untested },
    { operation: 'ALTER', resourceType: 'TOPIC', requests: 'CreatePartitions', without: 'the canary cannot add a partition for a broker added later', severity: 'warn', untested },
  ];
  // CREATE matters only while the topic is missing: vigil creates it on its first round.
  if (!topicExists) out.unshift({ operation: 'CREATE', resourceType: 'TOPIC', requests: 'CreateTopics', without: 'the canary cannot create its topic; create it yourself (docs/canary.md)', severity: 'fail', untested: 'not tested' });
  return out;
}

export function aclCheckId(req: Pick<AclRequirement, 'operation' | 'resourceType'>): string {
  return `kafka.acl.${req.operation.toLowerCase().replace(/_/g, '-')}-${req.resourceType.toLowerCase()}`;
}

/** "DESCRIBE on GROUP orders-svc": the form of ACL names throughout. */
export function aclName(operation: AclOperation, resourceType: AclResourceType, names: readonly string[]): string {
  return resourceType === 'CLUSTER' ? `${operation} on CLUSTER` : `${operation} on ${resourceType} ${listNames(names)}`;
}

/** How the principal is written in ACLs and in kafka-acls.sh. */
export interface AclContext {
  /** e.g. "User:vigil" */
  readonly principal: string;
  /** the first bootstrap broker, for the printed command */
  readonly bootstrap: string;
}

const CLI_OPERATIONS: Readonly<Record<AclOperation, string>> = {
  READ: 'Read',
  WRITE: 'Write',
  CREATE: 'Create',
  ALTER: 'Alter',
  DESCRIBE: 'Describe',
  DESCRIBE_CONFIGS: 'DescribeConfigs',
};

/**
 * The kafka-acls.sh command that grants `operation` (one or several) on the named resources
 * to the principal. `admin.properties` stands for an administrator's client properties file.
 */
export function kafkaAclsCommand(ctx: AclContext, operation: AclOperation | readonly AclOperation[], resourceType: AclResourceType, names: readonly string[]): string {
  const operations = typeof operation === 'string' ? [operation] : operation;
  const shown = names.slice(0, MAX_NAMES_IN_COMMAND);
  const resources = resourceType === 'CLUSTER' ? ['--cluster'] : shown.flatMap((n) => [`--${resourceType.toLowerCase()}`, shellWord(n)]);
  const more = names.length - shown.length;
  return [
    'kafka-acls.sh',
    '--bootstrap-server',
    shellWord(ctx.bootstrap),
    '--command-config',
    'admin.properties',
    '--add',
    '--allow-principal',
    shellWord(ctx.principal),
    ...operations.flatMap((op) => ['--operation', CLI_OPERATIONS[op]]),
    ...resources,
    ...(more > 0 ? [`# and ${more} more ${resourceType === 'TOPIC' ? 'topic' : 'group'}(s): run vigil doctor again after this one`] : []),
  ].join(' ');
}

/** A command line stays pasteable: past this many names the rest wait for the next run. */
const MAX_NAMES_IN_COMMAND = 20;

/**
 * One check per requirement: ok when every resource tested allows it, else `severity`
 * naming exactly the resources denied, the request that was refused, and the command that
 * grants the ACL. A requirement nothing was there to test is a warning saying so.
 */
export function aclChecks(requirements: readonly AclRequirement[], facts: readonly AccessFact[], ctx: AclContext): Check[] {
  return requirements.map((req) => {
    const id = aclCheckId(req);
    const mine = facts.filter((f) => f.operation === req.operation && f.resourceType === req.resourceType);
    if (mine.length === 0) return check(id, 'warn', `${req.operation} on ${req.resourceType} not tested: ${req.untested}`);
    const denied = new Map<string, AccessFact>();
    for (const f of mine) if (!f.allowed && !denied.has(f.name)) denied.set(f.name, f);
    const names = [...new Set(mine.map((f) => f.name))].sort();
    if (denied.size === 0) {
      const what = req.resourceType === 'CLUSTER' ? '' : ` for all ${names.length} ${req.resourceType === 'TOPIC' ? 'topic' : 'group'}(s) tested (${listNames(names, 3)})`;
      return check(id, 'ok', `${req.operation} on ${req.resourceType} allowed${what}; needed by ${req.requests}`);
    }
    const deniedNames = [...denied.keys()].sort();
    const first = denied.values().next().value as AccessFact;
    const answer = first.error === undefined ? first.via : `${first.via}: ${first.error}`;
    return check(
      id,
      req.severity,
      `${aclName(req.operation, req.resourceType, deniedNames)} denied to ${ctx.principal} (${answer}): ${req.without}`,
      kafkaAclsCommand(ctx, req.operation, req.resourceType, deniedNames),
    );
  });
}

/**
 * The principal Kafka sees for vigil's connection settings: the SASL user, else the TLS
 * client certificate's subject (Kafka's default mapping, in RFC 2253 order), else
 * ANONYMOUS.
 */
export function kafkaPrincipal(sasl: { readonly username: string } | undefined, clientCertSubject: string | undefined): string {
  if (sasl !== undefined) return `User:${sasl.username}`;
  if (clientCertSubject !== undefined) return `User:${clientCertSubject.split('\n').filter(Boolean).reverse().join(',')}`;
  return 'User:ANONYMOUS';
}
