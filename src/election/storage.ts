/**
 * Durable election state (docs/design.md §2 "term and vote are durable"): the core's HardState
 * {term, votedFor}, written before any message of the same step leaves the node.
 *
 * File protocol (one file, `election-state.json` under node.dataDir):
 *   write `<file>.tmp` → fsync it → rename over `<file>` → fsync the directory.
 * A crash at any point leaves either the old file or the new one, never a mix: rename is
 * atomic, and the directory fsync makes the rename itself durable. A leftover `.tmp` is
 * from a crash before the rename; it is ignored (and overwritten by the next save).
 *
 * The writes are synchronous on purpose. They happen only when the term or the vote
 * changes (a handful of times per election, ~1 ms each on a local disk), and doing them
 * inside the step keeps the invariant simple: no other input is ever handled while the
 * core's state is ahead of the disk.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { VigilError } from '../errors';
import type { HardState, NodeId } from './types';

export const STATE_FILE_NAME = 'election-state.json';
const FORMAT_VERSION = 1;

/** Where the driver keeps term and vote. `save` returns only once the state is durable. */
export interface HardStateStore {
  /** The last saved state; { term: 0, votedFor: null } when nothing was ever saved. */
  load(): HardState;
  /** Throws STATE_PERSIST_FAILED when the state could not be made durable. */
  save(state: HardState): void;
  /** For messages and status: where the state lives. */
  readonly location: string;
}

export const INITIAL_HARD_STATE: HardState = Object.freeze({ term: 0, votedFor: null });

/** Test seam: the file operations, so a test can crash the protocol between two of them. */
export interface StorageFs {
  openSync: typeof fs.openSync;
  writeSync: (fd: number, data: string) => number;
  fsyncSync: typeof fs.fsyncSync;
  closeSync: typeof fs.closeSync;
  renameSync: typeof fs.renameSync;
  readFileSync: (file: string, encoding: 'utf8') => string;
  mkdirSync: typeof fs.mkdirSync;
}

const realFs: StorageFs = {
  openSync: fs.openSync,
  writeSync: (fd, data) => fs.writeSync(fd, data),
  fsyncSync: fs.fsyncSync,
  closeSync: fs.closeSync,
  renameSync: fs.renameSync,
  readFileSync: (file, encoding) => fs.readFileSync(file, encoding),
  mkdirSync: fs.mkdirSync,
};

export class FileHardStateStore implements HardStateStore {
  readonly location: string;
  private readonly dir: string;
  private readonly tmp: string;
  private dirReady = false;

  constructor(dataDir: string, private readonly fsOps: StorageFs = realFs) {
    this.dir = path.resolve(dataDir);
    this.location = path.join(this.dir, STATE_FILE_NAME);
    this.tmp = `${this.location}.tmp`;
  }

  /**
   * Creates the data directory if needed and reads the state. A missing file is a new
   * node (term 0). An unreadable or damaged file stops the start: guessing a term or a
   * vote could let this node vote twice in one term.
   */
  load(): HardState {
    this.ensureDir();
    let text: string;
    try {
      text = this.fsOps.readFileSync(this.location, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return INITIAL_HARD_STATE;
      throw new VigilError('STATE_PERSIST_FAILED', `cannot read the election state file "${this.location}": ${errnoText(err)}; make it readable by this process and start again`, {
        cause: err,
        context: { file: this.location },
      });
    }
    const state = parseStateFile(text);
    if (typeof state === 'string') {
      throw new VigilError(
        'STATE_PERSIST_FAILED',
        `the election state file "${this.location}" is damaged (${state}); refusing to start, since a guessed term or vote could let this replica vote twice in one term. ` +
          'Restore the file from a backup, or delete it once `vigil status` shows the group in a higher term than this replica can have voted in; it then starts at term 0 and catches up',
        { context: { file: this.location } },
      );
    }
    return state;
  }

  private ensureDir(): void {
    if (this.dirReady) return;
    try {
      this.fsOps.mkdirSync(this.dir, { recursive: true });
    } catch (err) {
      throw new VigilError('STATE_PERSIST_FAILED', `cannot create node.dataDir "${this.dir}": ${errnoText(err)}; create it or point node.dataDir at a writable directory`, {
        cause: err,
        context: { dataDir: this.dir },
      });
    }
    this.dirReady = true;
  }

  save(state: HardState): void {
    this.ensureDir();
    const body = `${JSON.stringify({ version: FORMAT_VERSION, term: state.term, votedFor: state.votedFor })}\n`;
    let step = 'open';
    try {
      const fd = this.fsOps.openSync(this.tmp, 'w', 0o600);
      try {
        step = 'write';
        this.fsOps.writeSync(fd, body);
        step = 'fsync';
        this.fsOps.fsyncSync(fd);
      } finally {
        this.fsOps.closeSync(fd);
      }
      step = 'rename';
      this.fsOps.renameSync(this.tmp, this.location);
      step = 'fsync directory';
      const dirFd = this.fsOps.openSync(this.dir, 'r');
      try {
        this.fsOps.fsyncSync(dirFd);
      } finally {
        this.fsOps.closeSync(dirFd);
      }
    } catch (err) {
      throw new VigilError(
        'STATE_PERSIST_FAILED',
        `cannot persist the election state to "${this.location}" (${step}: ${errnoText(err)}); a replica that cannot persist its vote must not vote. Fix the disk or node.dataDir and restart`,
        { cause: err, context: { file: this.location, step } },
      );
    }
  }
}

/** An in-memory store for unit tests; `failNext` makes the next save throw as a full disk would. */
export class MemoryHardStateStore implements HardStateStore {
  readonly location = 'memory';
  saves = 0;
  failNext = false;
  constructor(private state: HardState = INITIAL_HARD_STATE) {}
  load(): HardState {
    return this.state;
  }
  save(state: HardState): void {
    if (this.failNext) {
      this.failNext = false;
      throw new VigilError('STATE_PERSIST_FAILED', 'cannot persist the election state to "memory" (simulated failure)');
    }
    this.state = { term: state.term, votedFor: state.votedFor };
    this.saves++;
  }
}

/** The parsed state, or a short reason why the text is not a valid state file. */
export function parseStateFile(text: string): HardState | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return text.trim() === '' ? 'the file is empty' : 'not valid JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not a JSON object';
  const v = value as Record<string, unknown>;
  if (v['version'] !== FORMAT_VERSION) return `unknown format version ${JSON.stringify(v['version'])}, expected ${FORMAT_VERSION}`;
  const term = v['term'];
  if (typeof term !== 'number' || !Number.isSafeInteger(term) || term < 0) return `term ${JSON.stringify(term)} is not a non-negative integer`;
  const votedFor = v['votedFor'];
  if (votedFor !== null && (typeof votedFor !== 'string' || votedFor === '')) return `votedFor ${JSON.stringify(votedFor)} is neither null nor a node id`;
  return { term, votedFor: votedFor as NodeId | null };
}

function errnoText(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code ?? (err instanceof Error ? err.message : String(err));
}
