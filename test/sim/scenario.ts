/**
 * Scenario scripts with golden output, in the style of etcd-io/raft's testdata/*.txt
 * (datadriven). A script is a sequence of blocks:
 *
 *     # comments and blank lines are kept as they are
 *     <command> [args]
 *     ----
 *     <expected output, up to the next blank line>
 *
 * The cluster runs the real ElectionNode on one manual clock (no drift); messages wait
 * in a queue until a command delivers them, so every interleaving is spelled out.
 *
 * Commands
 *   cluster nodes=N [rand=r1,r2,..] [timeout=T] [heartbeat=H]
 *                        new nodes n1..nN at time 0; node i's random source always returns ri (default 0)
 *   rand n1=0.5 ...      change nodes' random values
 *   tick ms=M            advance the clock by M and tick every running node
 *   advance ms=M [every=E]   tick every E ms (default: heartbeat interval) for M ms, delivering
 *                        everything after each tick; prints only role changes, persists and events
 *   deliver [from=] [to=] [type=]   deliver the queued messages that match, in order
 *                        (messages they cause are queued, not delivered)
 *   drop [from=] [to=] [type=]      discard matching queued messages
 *   stabilize            deliver until the queue is empty
 *   partition A.. | B..  cut every link between the groups; `cut from=X to=Y` cuts one direction
 *   heal                 remove every cut
 *   crash X / restart X  stop X (its disk survives) / start it from its disk at the current time
 *   pause X / resume X   SIGSTOP / SIGCONT: a paused node gets no ticks; its messages wait;
 *                        on resume it first ticks, then reads what waited
 *   transfer X [to=Y]    ask X to hand leadership over
 *   connection-lost X peer=Y / connection-restored X peer=Y
 *   status               one line per node: role, term, vote, leader, lease, next deadline, disk
 */
import { ElectionNode, type HardState, type Input, type Message, type NodeId, type Output } from '../../src/election';
import { describe } from './simulator';

interface ScenarioNode {
  readonly id: NodeId;
  core: ElectionNode | null;
  state: 'running' | 'paused' | 'crashed';
  disk: HardState;
  random: number;
  waiting: Input[];
}

interface Queued {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly message: Message;
}

export class ScenarioCluster {
  private nodes: ScenarioNode[] = [];
  private queue: Queued[] = [];
  private cuts = new Set<string>();
  private nowMs = 0;
  private timeoutMs = 400;
  private heartbeatMs = 100;

  /** Runs one command and returns its output lines. */
  run(command: string): string[] {
    const words = command.trim().split(/\s+/);
    const name = words[0]!;
    const positional = words.slice(1).filter((w) => !w.includes('='));
    const kv = new Map(words.slice(1).filter((w) => w.includes('=')).map((w) => w.split('=', 2) as [string, string]));
    const out: string[] = [];
    switch (name) {
      case 'cluster': {
        const n = Number(kv.get('nodes') ?? 3);
        const rands = (kv.get('rand') ?? '').split(',').filter((s) => s !== '').map(Number);
        this.timeoutMs = Number(kv.get('timeout') ?? 400);
        this.heartbeatMs = Number(kv.get('heartbeat') ?? 100);
        this.nodes = [];
        this.queue = [];
        this.cuts.clear();
        this.nowMs = 0;
        for (let i = 0; i < n; i++) {
          this.nodes.push({ id: `n${i + 1}`, core: null, state: 'crashed', disk: { term: 0, votedFor: null }, random: rands[i] ?? 0, waiting: [] });
        }
        for (const node of this.nodes) this.start(node);
        out.push(`lease ${this.nodes[0]!.core!.timing.leaseMs} ms (timeout ${this.timeoutMs} ms, drift bound ${this.nodes[0]!.core!.timing.maxClockDriftRatio})`);
        break;
      }
      case 'rand':
        for (const [id, v] of kv) this.node(id).random = Number(v);
        break;
      case 'tick': {
        this.nowMs += Number(kv.get('ms') ?? this.heartbeatMs);
        out.push(`t=${this.nowMs}`);
        for (const node of this.nodes) if (node.state === 'running') this.step(node, { type: 'tick', nowMs: this.nowMs }, `${node.id} tick`, out, true);
        break;
      }
      case 'advance': {
        // Ticks every `every` ms, delivering everything after each tick; prints only what
        // changes state (roles, persists, events), so long stretches stay readable.
        const totalMs = Number(kv.get('ms'));
        const everyMs = Number(kv.get('every') ?? this.heartbeatMs);
        for (let elapsedMs = 0; elapsedMs < totalMs; ) {
          const stepMs = Math.min(everyMs, totalMs - elapsedMs);
          elapsedMs += stepMs;
          const round = [...this.run(`tick ms=${stepMs}`), ...this.run('stabilize')];
          const changes = round.filter((l) => l.startsWith('  ') && !/^ {2}\S+->/.test(l));
          if (changes.length > 0) out.push(`t=${this.nowMs}`, ...changes);
        }
        break;
      }
      case 'deliver':
      case 'drop': {
        const match = (q: Queued): boolean =>
          (!kv.has('from') || kv.get('from') === q.from) && (!kv.has('to') || kv.get('to') === q.to) && (!kv.has('type') || kv.get('type') === q.message.type);
        const batch = this.queue.filter(match);
        this.queue = this.queue.filter((q) => !match(q));
        for (const q of batch) {
          if (name === 'drop') out.push(`dropped ${q.from}->${q.to} ${describe(q.message)}`);
          else this.deliver(q, out);
        }
        break;
      }
      case 'stabilize':
        while (this.queue.length > 0) this.deliver(this.queue.shift()!, out);
        break;
      case 'partition': {
        const bar = positional.indexOf('|');
        const a = positional.slice(0, bar);
        const b = positional.slice(bar + 1);
        for (const x of a) for (const y of b) this.cuts.add(`${x}>${y}`).add(`${y}>${x}`);
        break;
      }
      case 'cut':
        this.cuts.add(`${kv.get('from')}>${kv.get('to')}`);
        break;
      case 'heal':
        this.cuts.clear();
        break;
      case 'crash': {
        const node = this.node(positional[0]!);
        node.state = 'crashed';
        node.core = null;
        node.waiting = [];
        out.push(`${node.id} crashed; disk term=${node.disk.term} vote=${node.disk.votedFor ?? '-'}`);
        break;
      }
      case 'restart': {
        const node = this.node(positional[0]!);
        this.start(node);
        out.push(`${node.id} restarted from disk term=${node.disk.term} vote=${node.disk.votedFor ?? '-'}`);
        break;
      }
      case 'pause':
        this.node(positional[0]!).state = 'paused';
        break;
      case 'resume': {
        const node = this.node(positional[0]!);
        node.state = 'running';
        this.step(node, { type: 'tick', nowMs: this.nowMs }, `${node.id} tick (resumed)`, out, false);
        const waiting = node.waiting;
        node.waiting = [];
        for (const input of waiting) this.step(node, { ...input, nowMs: this.nowMs } as Input, `${node.id} reads ${this.inputLabel(node.id, input)}`, out, false);
        break;
      }
      case 'transfer': {
        const node = this.node(positional[0]!);
        const to = kv.get('to');
        this.step(node, { type: 'transfer-leadership', nowMs: this.nowMs, ...(to === undefined ? {} : { to }) }, `${node.id} transfer-leadership to=${to ?? 'any'}`, out, false);
        break;
      }
      case 'connection-lost':
      case 'connection-restored': {
        const node = this.node(positional[0]!);
        const peer = kv.get('peer')!;
        this.step(node, { type: name, nowMs: this.nowMs, peer }, `${node.id} ${name} ${peer}`, out, false);
        break;
      }
      case 'status':
        for (const node of this.nodes) out.push(this.statusLine(node));
        break;
      default:
        throw new Error(`unknown scenario command: ${command}`);
    }
    return out.length > 0 ? out : ['ok'];
  }

  private node(id: string): ScenarioNode {
    const node = this.nodes.find((n) => n.id === id);
    if (node === undefined) throw new Error(`unknown node ${id}`);
    return node;
  }

  private start(node: ScenarioNode): void {
    node.state = 'running';
    node.waiting = [];
    node.core = new ElectionNode({
      id: node.id,
      members: this.nodes.map((n) => n.id),
      electionTimeoutMs: this.timeoutMs,
      heartbeatIntervalMs: this.heartbeatMs,
      random: () => node.random,
      hardState: node.disk,
      nowMs: this.nowMs,
    });
  }

  private deliver(q: Queued, out: string[]): void {
    const to = this.node(q.to);
    const label = `${q.from}->${q.to} ${describe(q.message)}`;
    if (this.cuts.has(`${q.from}>${q.to}`)) {
      out.push(`${label} (dropped: partition)`);
      return;
    }
    if (to.state === 'crashed') {
      out.push(`${label} (dropped: ${q.to} is down)`);
      return;
    }
    const input: Input = { type: 'message', nowMs: this.nowMs, from: q.from, message: q.message };
    if (to.state === 'paused') {
      to.waiting.push(input);
      out.push(`${label} (waits: ${q.to} is paused)`);
      return;
    }
    this.step(to, input, label, out, false);
  }

  /** Steps a node as a driver would: persist, then send (queue), then report. */
  private step(node: ScenarioNode, input: Input, label: string, out: string[], quietIfEmpty: boolean): void {
    // Messages are JSON on the wire; make sure they survive the trip.
    const wire: Input = input.type === 'message' ? { ...input, message: JSON.parse(JSON.stringify(input.message)) as Message } : input;
    const o: Output = node.core!.step(wire);
    const lines = this.describeOutput(node.id, o);
    if (o.persist !== null) node.disk = o.persist;
    for (const e of o.messages) this.queue.push({ from: node.id, to: e.to, message: e.message });
    if (lines.length === 0 && quietIfEmpty) return;
    out.push(label, ...lines);
  }

  private describeOutput(id: NodeId, o: Output): string[] {
    const lines: string[] = [];
    for (const rc of o.roleChanges) lines.push(`  ${id} becomes ${rc.to} (was ${rc.from}) term=${rc.term} reason=${rc.reason}`);
    if (o.persist !== null) lines.push(`  ${id} persist term=${o.persist.term} vote=${o.persist.votedFor ?? '-'}`);
    for (const e of o.events) {
      const { type, ...rest } = e;
      const fields = Object.entries(rest).map(([k, v]) => `${k}=${v === null ? '-' : String(v)}`);
      lines.push(`  ${id} event ${type}${fields.length > 0 ? ' ' + fields.join(' ') : ''}`);
    }
    for (const m of o.messages) lines.push(`  ${id}->${m.to} ${describe(m.message)}`);
    return lines;
  }

  private inputLabel(id: NodeId, input: Input): string {
    switch (input.type) {
      case 'message':
        return `${input.from}->${id} ${describe(input.message)}`;
      case 'connection-lost':
      case 'connection-restored':
        return `${input.type} ${input.peer}`;
      default:
        return input.type;
    }
  }

  private statusLine(node: ScenarioNode): string {
    const disk = `disk term=${node.disk.term} vote=${node.disk.votedFor ?? '-'}`;
    if (node.core === null) return `${node.id} crashed; ${disk}`;
    const s = node.core.status(this.nowMs);
    const lease = s.leaseValid ? `until ${fmtMs(s.leaseExpiresAtMs!)}` : 'no';
    const transfer = s.transferringTo === null ? '' : ` transferring-to=${s.transferringTo}`;
    return (
      `${node.id} ${s.role}${node.state === 'paused' ? ' (paused)' : ''} term=${s.term} vote=${s.votedFor ?? '-'} leader=${s.leaderId ?? '-'} ` +
      `lease=${lease}${transfer} next=${fmtMs(node.core.nextDeadlineMs())}; ${disk}`
    );
  }
}

function fmtMs(ms: number): string {
  return Number.isInteger(ms) ? String(ms) : ms.toFixed(3);
}

// ---------------------------------------------------------------- script files

export type ScriptPart = { readonly kind: 'text'; readonly line: string } | { readonly kind: 'block'; readonly command: string; readonly expected: string[]; readonly line: number };

export function parseScript(text: string): ScriptPart[] {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const parts: ScriptPart[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '' || line.startsWith('#')) {
      parts.push({ kind: 'text', line });
      continue;
    }
    if (lines[i + 1] !== '----') throw new Error(`line ${i + 2}: expected "----" after command "${line}"`);
    const expected: string[] = [];
    let j = i + 2;
    while (j < lines.length && lines[j]!.trim() !== '') expected.push(lines[j++]!);
    parts.push({ kind: 'block', command: line, expected, line: i + 1 });
    i = j - 1;
  }
  return parts;
}

export interface BlockResult {
  readonly command: string;
  readonly line: number;
  readonly expected: readonly string[];
  readonly actual: readonly string[];
}

/** Runs every block of a script on a fresh cluster; returns expected and actual output per block. */
export function runScript(text: string): BlockResult[] {
  const cluster = new ScenarioCluster();
  const results: BlockResult[] = [];
  for (const part of parseScript(text)) {
    if (part.kind !== 'block') continue;
    results.push({ command: part.command, line: part.line, expected: part.expected, actual: cluster.run(part.command) });
  }
  return results;
}

/** The script with every expected block replaced by the actual output (for VIGIL_REWRITE=1). */
export function rewriteScript(text: string): string {
  const cluster = new ScenarioCluster();
  const out: string[] = [];
  for (const part of parseScript(text)) {
    if (part.kind === 'text') out.push(part.line);
    else out.push(part.command, '----', ...cluster.run(part.command));
  }
  return out.join('\n') + '\n';
}
