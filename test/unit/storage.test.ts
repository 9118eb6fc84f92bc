/**
 * Durable term and vote (docs/design.md §2 "term and vote are durable"): the file protocol
 * temp + fsync + rename + fsync dir, restart from what was written, refusal of a damaged
 * file, and atomicity: a crash between the temp write and the rename leaves the old state.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { FileHardStateStore, MemoryHardStateStore, STATE_FILE_NAME, type HardStateStore, type StorageFs } from '../../src/election/storage';
import { isVigilError } from '../../src/errors';

const dirs: string[] = [];
function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'vigil-storage-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** The contract every HardStateStore keeps (the file store and the in-memory fake alike). */
function contract(name: string, make: () => HardStateStore): void {
  describe(`HardStateStore contract: ${name}`, () => {
    it('starts at term 0 with no vote', () => {
      assert.deepEqual(make().load(), { term: 0, votedFor: null });
    });
    it('returns the last saved state', () => {
      const s = make();
      s.save({ term: 3, votedFor: 'vigil-2' });
      s.save({ term: 4, votedFor: null });
      assert.deepEqual(s.load(), { term: 4, votedFor: null });
    });
  });
}

contract('file', () => new FileHardStateStore(path.join(tempDir(), 'data')));
contract('memory', () => new MemoryHardStateStore());

describe('FileHardStateStore', () => {
  it('survives a restart: a new store on the same dir reads what the old one wrote', () => {
    const dir = path.join(tempDir(), 'nested', 'data');
    new FileHardStateStore(dir).save({ term: 7, votedFor: 'vigil-3' });
    assert.deepEqual(new FileHardStateStore(dir).load(), { term: 7, votedFor: 'vigil-3' });
  });

  it('creates the data dir on load and writes the documented file', () => {
    const dir = path.join(tempDir(), 'fresh');
    const store = new FileHardStateStore(dir);
    store.load();
    assert.ok(fs.statSync(dir).isDirectory());
    store.save({ term: 1, votedFor: 'a' });
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, STATE_FILE_NAME), 'utf8')), { version: 1, term: 1, votedFor: 'a' });
  });

  it('follows the order write temp → fsync → rename → fsync dir', () => {
    const dir = tempDir();
    const calls: string[] = [];
    const ops: StorageFs = {
      openSync: (p, flags, mode) => {
        calls.push(`open ${path.basename(String(p))} ${String(flags)}`);
        return fs.openSync(p, flags, mode);
      },
      writeSync: (fd, data) => {
        calls.push('write');
        return fs.writeSync(fd, data);
      },
      fsyncSync: (fd) => {
        calls.push('fsync');
        fs.fsyncSync(fd);
      },
      closeSync: (fd) => fs.closeSync(fd),
      renameSync: (a, b) => {
        calls.push(`rename ${path.basename(String(a))} → ${path.basename(String(b))}`);
        fs.renameSync(a, b);
      },
      readFileSync: (f, e) => fs.readFileSync(f, e),
      mkdirSync: fs.mkdirSync,
    };
    new FileHardStateStore(dir, ops).save({ term: 2, votedFor: null });
    assert.deepEqual(calls, [
      `open ${STATE_FILE_NAME}.tmp w`,
      'write',
      'fsync',
      `rename ${STATE_FILE_NAME}.tmp → ${STATE_FILE_NAME}`,
      `open ${path.basename(dir)} r`,
      'fsync',
    ]);
  });

  it('atomicity: a crash between the temp write and the rename leaves the old state readable', () => {
    const dir = tempDir();
    new FileHardStateStore(dir).save({ term: 5, votedFor: 'vigil-1' });
    class Crash extends Error {}
    const crashingFs: StorageFs = {
      openSync: fs.openSync,
      writeSync: (fd, data) => fs.writeSync(fd, data),
      fsyncSync: fs.fsyncSync,
      closeSync: fs.closeSync,
      renameSync: () => {
        throw new Crash('process killed before rename');
      },
      readFileSync: (f, e) => fs.readFileSync(f, e),
      mkdirSync: fs.mkdirSync,
    };
    assert.throws(() => new FileHardStateStore(dir, crashingFs).save({ term: 6, votedFor: 'vigil-2' }));
    // The temp file holds the new state, fully written; the real file still the old one.
    assert.ok(fs.existsSync(path.join(dir, `${STATE_FILE_NAME}.tmp`)));
    assert.deepEqual(new FileHardStateStore(dir).load(), { term: 5, votedFor: 'vigil-1' });
    // And the next save overwrites the leftover temp file.
    new FileHardStateStore(dir).save({ term: 6, votedFor: null });
    assert.deepEqual(new FileHardStateStore(dir).load(), { term: 6, votedFor: null });
  });

  it('a failed write throws STATE_PERSIST_FAILED naming the file and the step', () => {
    const dir = tempDir();
    const failingFs: StorageFs = {
      openSync: fs.openSync,
      writeSync: () => {
        throw Object.assign(new Error('no space'), { code: 'ENOSPC' });
      },
      fsyncSync: fs.fsyncSync,
      closeSync: fs.closeSync,
      renameSync: fs.renameSync,
      readFileSync: (f, e) => fs.readFileSync(f, e),
      mkdirSync: fs.mkdirSync,
    };
    assert.throws(
      () => new FileHardStateStore(dir, failingFs).save({ term: 1, votedFor: null }),
      (err: unknown) => isVigilError(err) && err.code === 'STATE_PERSIST_FAILED' && err.message.includes(STATE_FILE_NAME) && err.message.includes('write: ENOSPC'),
    );
  });

  for (const [what, text] of [
    ['truncated JSON', '{"version":1,"term":'],
    ['an empty file', ''],
    ['a negative term', '{"version":1,"term":-1,"votedFor":null}'],
    ['a fractional term', '{"version":1,"term":1.5,"votedFor":null}'],
    ['a wrong votedFor', '{"version":1,"term":1,"votedFor":42}'],
    ['an unknown version', '{"version":9,"term":1,"votedFor":null}'],
    ['an array', '[1,2]'],
  ] as const) {
    it(`refuses to start on a damaged file (${what}) with an error naming the file and what to do`, () => {
      const dir = tempDir();
      fs.writeFileSync(path.join(dir, STATE_FILE_NAME), text);
      assert.throws(
        () => new FileHardStateStore(dir).load(),
        (err: unknown) =>
          isVigilError(err) &&
          err.code === 'STATE_PERSIST_FAILED' &&
          err.message.includes(path.join(dir, STATE_FILE_NAME)) &&
          err.message.includes('damaged') &&
          err.message.includes('Restore the file'),
      );
    });
  }
});
