import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** A real OpenSSH server on a free loopback port, configured entirely inside `dir`. */

export const SSHD = '/usr/sbin/sshd';

export function requireSshd(): void {
  if (!existsSync(SSHD)) {
    throw new Error(
      `OpenSSH server is not installed (${SSHD} is missing): run \`apt-get install openssh-server\` ` +
        '(CI installs it) so the remote-command parity test can compare the simulator with real bash',
    );
  }
}

export interface RealSshd {
  port: number;
  /** `ssh-ed25519 AAAA...` */
  hostKey: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startRealSshd(options: {
  dir: string;
  authorizedKey: string;
  /** Prepended to PATH of every session (fake nvidia-smi and torchrun live there). */
  binDir: string;
}): Promise<RealSshd> {
  requireSshd();
  // sshd refuses to start without its privilege-separation directory.
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
  const dir = options.dir;
  await mkdir(dir, { recursive: true });
  const hostKeyPath = join(dir, 'host_ed25519');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKeyPath]);
  const authorized = join(dir, 'authorized_keys');
  await writeFile(authorized, `${options.authorizedKey}\n`);
  await chmod(authorized, 0o600);
  const port = await freePort();
  const config = [
    'ListenAddress 127.0.0.1',
    `Port ${port}`,
    `HostKey ${hostKeyPath}`,
    `AuthorizedKeysFile ${authorized}`,
    'PermitRootLogin prohibit-password',
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    `PidFile ${join(dir, 'sshd.pid')}`,
    `SetEnv PATH=${options.binDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
    'MaxSessions 30',
    'MaxStartups 50',
    'LogLevel ERROR',
  ];
  const configPath = join(dir, 'sshd_config');
  await writeFile(configPath, `${config.join('\n')}\n`);

  const child: ChildProcess = spawn(SSHD, ['-D', '-e', '-f', configPath], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  for (let i = 0; i < 100; i += 1) {
    if (child.exitCode !== null) throw new Error(`sshd exited at start: ${stderr}`);
    if (await canConnect(port)) break;
    await new Promise((r) => setTimeout(r, 50));
    if (i === 99) throw new Error(`sshd did not listen on ${port}: ${stderr}`);
  }
  const hostKey = (await readFile(`${hostKeyPath}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' ');
  return {
    port,
    hostKey,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}
