import { timingSafeEqual } from 'node:crypto';
import ssh2 from 'ssh2';
import { generateHostKey, type HostKeyPair } from '../../../src/sim/hosts/index.js';

const { Client, utils } = ssh2;

/** A tiny SSH client for these tests (the service's pool lives in src/infra/ssh). */

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

export interface SshSession {
  run(command: string, options?: { stdin?: string; env?: Record<string, string> }): Promise<RunResult>;
  close(): void;
}

export function clientKeyPair(): HostKeyPair {
  return generateHostKey();
}

function keyBlob(line: string): Buffer {
  const parsed = utils.parseKey(line);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) throw new Error(`bad public key ${line}`);
  return key.getPublicSSH();
}

export function connect(
  port: number,
  privateKey: string,
  options: { hostKey?: string; readyTimeoutMs?: number } = {},
): Promise<SshSession> {
  const client = new Client();
  const expected = options.hostKey ? keyBlob(options.hostKey) : null;
  return new Promise((resolve, reject) => {
    // Errors after a failed handshake (a hung server closing later) must not go unhandled.
    client.on('error', (err) => {
      reject(err);
      client.destroy();
    });
    client.once('ready', () => {
      resolve({
        run: (command, runOptions = {}) =>
          new Promise<RunResult>((done, fail) => {
            const execOptions = runOptions.env ? { env: runOptions.env } : {};
            client.exec(command, execOptions, (err, channel) => {
              if (err) {
                fail(err);
                return;
              }
              let stdout = '';
              let stderr = '';
              let code: number | null = null;
              channel.on('data', (d: Buffer) => {
                stdout += d.toString('utf8');
              });
              channel.stderr.on('data', (d: Buffer) => {
                stderr += d.toString('utf8');
              });
              channel.on('exit', (c: number | null) => {
                code = c;
              });
              channel.on('close', () => done({ stdout, stderr, code }));
              channel.end(runOptions.stdin ?? undefined);
            });
          }),
        close: () => client.end(),
      });
    });
    client.connect({
      host: '127.0.0.1',
      port,
      username: 'root',
      privateKey,
      readyTimeout: options.readyTimeoutMs ?? 5000,
      hostVerifier: (key: Buffer) =>
        expected === null || (key.length === expected.length && timingSafeEqual(key, expected)),
    });
  });
}

/** Connects, runs one command, disconnects. */
export async function runOnce(
  port: number,
  privateKey: string,
  command: string,
  options: { stdin?: string; env?: Record<string, string>; hostKey?: string } = {},
): Promise<RunResult> {
  const session = await connect(port, privateKey, options.hostKey ? { hostKey: options.hostKey } : {});
  try {
    const runOptions: { stdin?: string; env?: Record<string, string> } = {};
    if (options.stdin !== undefined) runOptions.stdin = options.stdin;
    if (options.env !== undefined) runOptions.env = options.env;
    return await session.run(command, runOptions);
  } finally {
    session.close();
  }
}
