/**
 * `vigil demo --with-prometheus` (docs/demo.md): Debian's `prometheus-alertmanager` and
 * `prometheus` as child processes of the demo — no Docker — on free loopback ports, each
 * with its config, data and log in a directory of the demo's, started and stopped with it.
 * Prometheus scrapes every replica's /metrics with the shipped rules
 * (deploy/prometheus/vigil-rules.yml) and sends alerts to the Alertmanager; what they run
 * with is src/demo/prometheus-config.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { freePort } from '../local/ports';
import { spawnTracked, tailFile, type TrackedProcess } from '../local/procs';
import { waitFor } from '../local/wait';
import { ALERTMANAGER_BIN, PROMETHEUS_BIN } from './prerequisites';
import { demoAlertmanagerConfig, demoPrometheusConfig, hostPort } from './prometheus-config';

/** One of the two servers, running. */
export interface DemoMonitorServer {
  /** "prometheus" or "alertmanager" */
  readonly what: string;
  /** http://127.0.0.1:<port> */
  readonly url: string;
  readonly dir: string;
  readonly configFile: string;
  readonly logFile: string;
  pid(): number | undefined;
  logReport(lines?: number): string;
  /** SIGTERM, and SIGKILL after 10 s; resolves once the process has exited. */
  stop(): Promise<void>;
}

export interface DemoMonitorOptions {
  /** The server's directory (created): config, data/ and the log go there. */
  readonly dir: string;
  /** Start in a process group of its own (see SpawnOptions.ownProcessGroup). */
  readonly ownProcessGroup?: boolean;
  /** Upper bound for the start, until GET /-/ready answers 200 (default 60 s). */
  readonly startTimeoutMs?: number;
}

/** Alertmanager with the demo's config (all alerts to a receiver that sends nothing), clustering off. */
export async function startDemoAlertmanager(opts: DemoMonitorOptions): Promise<DemoMonitorServer> {
  return startServer('alertmanager', ALERTMANAGER_BIN, opts, demoAlertmanagerConfig(), (port, configFile, dataDir) => [
    `--config.file=${configFile}`,
    `--storage.path=${dataDir}`,
    `--web.listen-address=127.0.0.1:${port}`,
    // no gossip listener: a single Alertmanager
    '--cluster.listen-address=',
  ]);
}

/** Prometheus scraping `replicaUrls` with the shipped rules, alerting to `alertmanager`. */
export async function startDemoPrometheus(opts: DemoMonitorOptions & { readonly replicaUrls: readonly string[]; readonly alertmanager: DemoMonitorServer }): Promise<DemoMonitorServer> {
  const port = await freePort();
  const config = demoPrometheusConfig({
    replicaTargets: opts.replicaUrls.map(hostPort),
    alertmanager: hostPort(opts.alertmanager.url),
    self: `127.0.0.1:${port}`,
  });
  return startServer('prometheus', PROMETHEUS_BIN, opts, config, (p, configFile, dataDir) => [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${dataDir}`,
    `--web.listen-address=127.0.0.1:${p}`,
  ], port);
}

/**
 * Writes `<what>.yml`, starts `command` on a free loopback port and waits until GET /-/ready
 * answers 200. An exit during the start fails it with the log's tail.
 */
async function startServer(
  what: string,
  command: string,
  opts: DemoMonitorOptions,
  config: Record<string, unknown>,
  args: (port: number, configFile: string, dataDir: string) => string[],
  chosenPort?: number,
): Promise<DemoMonitorServer> {
  const port = chosenPort ?? (await freePort());
  const dir = path.resolve(opts.dir);
  fs.mkdirSync(dir, { recursive: true });
  const configFile = path.join(dir, `${what}.yml`);
  const logFile = path.join(dir, `${what}.log`);
  fs.writeFileSync(configFile, stringify(config));
  const url = `http://127.0.0.1:${port}`;
  const proc: TrackedProcess = spawnTracked({
    name: `${what} :${port}`,
    command,
    args: args(port, configFile, path.join(dir, 'data')),
    logFile,
    cwd: dir,
    ...(opts.ownProcessGroup ? { ownProcessGroup: true } : {}),
  });
  const logReport = (lines = 30): string => `--- ${what} :${port}: last ${lines} lines of ${logFile} ---\n${tailFile(logFile, lines)}`;
  const server: DemoMonitorServer = {
    what,
    url,
    dir,
    configFile,
    logFile,
    pid: () => (proc.isRunning() ? proc.pid : undefined),
    logReport,
    async stop() {
      // terminate() kills past the deadline and then throws; the process is gone either way
      await proc.terminate({ sig: 'SIGTERM', timeoutMs: 10_000 }).catch(() => undefined);
    },
  };
  const exited = proc.exited.then((status) => {
    throw new Error(`${command} exited (${status.signal ?? `code ${status.code}`}) during its start\n${logReport()}`);
  });
  exited.catch(() => undefined);
  try {
    await Promise.race([
      waitFor(async () => (await fetch(`${url}/-/ready`, { signal: AbortSignal.timeout(2000) })).status === 200, {
        timeoutMs: opts.startTimeoutMs ?? 60_000,
        intervalMs: 100,
        what: `${what} on port ${port} to be ready (GET /-/ready)`,
      }),
      exited,
    ]);
  } catch (err) {
    await proc.kill();
    throw err;
  }
  return server;
}
