/**
 * The built `vigil` command as a user runs it: a child process of dist/src/cli/main.js on
 * this Node, its output collected, its exit code returned.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../../src/local/kafka';

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runVigil(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  return runCollected(process.execPath, [path.join(repoRoot, 'dist/src/cli/main.js'), ...args], env);
}

/** Any command with its output collected (no shell). */
export function runCollected(command: string, args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
