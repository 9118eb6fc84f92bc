/**
 * The block `vigil demo` prints once the stack is up (docs/demo.md "What it prints"):
 * where everything is, and what to try. Pure: the addresses come in as data, so the lines
 * are tested without a stack. The API, status page and "try" lines use the replica that
 * leads when the block is printed (the demo asks the replicas' status for it), never a
 * fixed one.
 */
import { DEMO_LAG } from './config';

export interface WhereInput {
  readonly dir: string;
  readonly brokers: ReadonlyArray<{ readonly id: number; readonly address: string }>;
  readonly redisUrl: string;
  readonly webhookUrl: string;
  readonly replicas: ReadonlyArray<{ readonly id: string; readonly url: string }>;
  /** the leader as its status reported it, and its pid */
  readonly leader: { readonly nodeId: string; readonly term: number; readonly pid?: number };
  /** the status page URL once GET / answered 200 there, or why it did not */
  readonly statusPage: { readonly url: string } | { readonly notServed: string };
  readonly adminToken: string;
  /** --with-prometheus: the two servers' base URLs */
  readonly prometheus?: { readonly prometheusUrl: string; readonly alertmanagerUrl: string };
}

/** The leader's public URL (the first replica's if the leader is not among them). */
export function leaderUrl(input: Pick<WhereInput, 'replicas' | 'leader'>): string {
  return (input.replicas.find((r) => r.id === input.leader.nodeId) ?? input.replicas[0])?.url ?? '';
}

export function whereEverythingIs(s: WhereInput): string[] {
  const lead = leaderUrl(s);
  const lines = [
    '',
    'where everything is:',
    `  kafka brokers   ${s.brokers.map((b) => `${b.id}: ${b.address}`).join('   ')}`,
    `  redis           ${s.redisUrl}`,
    `  webhook         ${s.webhookUrl} (every page is printed here as one line)`,
    '  replicas',
    ...s.replicas.map((r) => `    ${r.id}${r.id === s.leader.nodeId ? ` (leader, term ${s.leader.term})` : ''}  ${r.url}`),
    `  API (any replica; followers forward lag, alerts and events to the leader; these are ${s.leader.nodeId}'s):`,
    `    ${lead}/api/v1/status   ${lead}/api/v1/lag   ${lead}/api/v1/alerts`,
    `    ${lead}/api/v1/events   ${lead}/metrics`,
    'url' in s.statusPage ? `  status page     ${s.statusPage.url}` : `  status page     not answering: ${s.statusPage.notServed}`,
  ];
  if (s.prometheus) {
    lines.push(
      `  prometheus      ${s.prometheus.prometheusUrl}/ (scrapes every replica's /metrics every 5 s; rules: deploy/prometheus/vigil-rules.yml)`,
      `  alertmanager    ${s.prometheus.alertmanagerUrl} (the rules' alerts and vigil's own; it sends nothing; no web UI in Debian's package: use its API or amtool)`,
    );
  }
  lines.push(
    `  admin token     ${s.adminToken} (Authorization: Bearer ..., for POST /api/v1/leadership/transfer)`,
    `  lag rules       page above ${DEMO_LAG.thresholdSeconds} s; resolve below ${DEMO_LAG.resolveBelowSeconds} s held for ${DEMO_LAG.resolveForSeconds} s`,
    `  logs            ${s.dir}/kafka/node-<id>/kafka.log, ${s.dir}/redis/redis.log, ${s.dir}/replicas/<id>/replica.log${s.prometheus ? `, ${s.dir}/prometheus/prometheus.log, ${s.dir}/alertmanager/alertmanager.log` : ''}`,
    ...tryLines(s, lead),
    '',
  );
  return lines;
}

function tryLines(s: WhereInput, lead: string): string[] {
  const tries = [
    ...('url' in s.statusPage ? [`open ${s.statusPage.url} in a browser (the status page, live)`] : []),
    `node dist/src/cli/main.js status --url ${lead}`,
    `node dist/src/cli/main.js lag --brokers ${s.brokers.map((b) => b.address).join(',')}`,
    `curl -s ${lead}/api/v1/lag | jq`,
    ...(s.prometheus
      ? [
          `open ${s.prometheus.prometheusUrl}/classic/alerts in a browser (the shipped rules, evaluated)`,
          `curl -s ${s.prometheus.prometheusUrl}/api/v1/targets | jq '.data.activeTargets[] | {scrapeUrl, health}'`,
          `amtool alert query --alertmanager.url=${s.prometheus.alertmanagerUrl}`,
        ]
      : []),
    `kill -9 ${s.leader.pid ?? `<pid of ${s.leader.nodeId}>`}   (the leader, ${s.leader.nodeId}: the next summary line names a new one)`,
  ];
  return tries.map((t, i) => `${i === 0 ? '  try             ' : '                  '}${t}`);
}
