// Runs the real `qlora` command (bin/qlora.mjs) in a child process, on SwiftShader when no GPU driver is set.
import { spawn } from 'node:child_process';
import { SWIFTSHADER_ICD } from '../../src/io/node-gpu';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const BIN = new URL('../../bin/qlora.mjs', import.meta.url).pathname;

export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, VK_ICD_FILENAMES: process.env.VK_ICD_FILENAMES ?? SWIFTSHADER_ICD, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
}
