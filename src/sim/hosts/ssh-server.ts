import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server as NetServer, type Socket } from 'node:net';
import type { AuthContext, Connection, ParsedKey, ServerChannel, Session } from 'ssh2';
import ssh2 from 'ssh2';
import type { Logger } from '../../logger.js';
import type { ExecOutput } from './builtins.js';

const { Server, utils } = ssh2;

/**
 * One simulated host's SSH endpoint: ssh2's protocol server behind our own TCP listener, so a
 * stopped host refuses connections (listener closed) and a hung one accepts TCP and then says
 * nothing (the socket is never handed to ssh2).
 */

export interface SshExecHandler {
  /** Whether the command reads stdin (then it runs after the client's EOF). */
  readsStdin(command: string): boolean;
  run(command: string, stdin: string, env: Readonly<Record<string, string>>): ExecOutput;
  /** Every env request the channel made (names and values: tests read them, logs never do). */
  onEnv(env: Readonly<Record<string, string>>): void;
}

export interface HostKeyPair {
  privateKey: string;
  /** `ssh-ed25519 AAAA...` */
  publicKey: string;
}

/**
 * ssh2's ed25519 generator drops a leading zero byte about once in 256 keys, leaving a key it
 * cannot parse back (mscdex/ssh2#1390): draw until both halves parse.
 */
export function generateHostKey(): HostKeyPair {
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const pair = utils.generateKeyPairSync('ed25519');
    const priv = utils.parseKey(pair.private);
    const pub = utils.parseKey(pair.public);
    if (!(priv instanceof Error) && !(pub instanceof Error)) {
      const key = Array.isArray(pub) ? pub[0] : pub;
      if (key)
        return {
          privateKey: pair.private,
          publicKey: `${key.type} ${key.getPublicSSH().toString('base64')}`,
        };
    }
  }
  throw new Error('could not generate a parseable ed25519 host key');
}

export function parsePublicKey(line: string): ParsedKey {
  const parsed = utils.parseKey(line);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key === undefined || key instanceof Error)
    throw new TypeError('the authorized key is not an OpenSSH public key');
  return key;
}

function sameBytes(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Public-key authentication against one allowed key (also used by the tests' SSH server). */
export function authenticate(ctx: AuthContext, allowed: ParsedKey): void {
  if (ctx.method !== 'publickey') {
    ctx.reject(['publickey']);
    return;
  }
  const matches = ctx.key.algo === allowed.type && sameBytes(ctx.key.data, allowed.getPublicSSH());
  // Without a signature the client only asks whether the key would do.
  const signed =
    ctx.signature === undefined ||
    (ctx.blob !== undefined && allowed.verify(ctx.blob, ctx.signature, ctx.hashAlgo) === true);
  if (matches && signed) ctx.accept();
  else ctx.reject(['publickey']);
}

export function readUntilEof(channel: ServerChannel): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    channel.on('data', (chunk: Buffer) => chunks.push(chunk));
    channel.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

function reply(channel: ServerChannel, out: ExecOutput): void {
  if (out.stdout) channel.write(out.stdout);
  if (out.stderr) channel.stderr.write(out.stderr);
  channel.exit(out.code);
  channel.end();
}

export class SimSshEndpoint {
  private readonly sshServer: InstanceType<typeof Server>;
  private tcp: NetServer | null = null;
  private readonly sockets = new Set<Socket>();
  private port = 0;
  /** Accept TCP, never answer. */
  hang = false;

  constructor(
    hostPrivateKey: string,
    private readonly allowed: ParsedKey,
    private readonly handler: SshExecHandler,
    private readonly logger: Logger,
  ) {
    this.sshServer = new Server({ hostKeys: [hostPrivateKey] }, (client: Connection) => {
      client.on('error', () => {});
      client.on('authentication', (ctx) => authenticate(ctx, this.allowed));
      client.on('session', (accept) => this.serveSession(accept()));
    });
  }

  get listening(): boolean {
    return this.tcp !== null;
  }

  /** Listens on 127.0.0.1 (the same port again after a stop, so the endpoint stays valid). */
  async listen(host: string): Promise<number> {
    if (this.tcp) return this.port;
    const tcp = createServer((socket) => this.onSocket(socket));
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(this.port, host, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
    const address = tcp.address();
    if (address === null || typeof address === 'string') throw new Error('no TCP address');
    this.port = address.port;
    this.tcp = tcp;
    return this.port;
  }

  /** Stops listening and cuts every open connection: the host is off. */
  async close(): Promise<void> {
    const tcp = this.tcp;
    this.tcp = null;
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    if (tcp) await new Promise<void>((resolve) => tcp.close(() => resolve()));
  }

  /** Cuts hung connections (when the hang is cleared, new ones are served). */
  dropConnections(): void {
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
  }

  private onSocket(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => this.sockets.delete(socket));
    if (this.hang) return;
    this.sshServer.injectSocket(socket);
  }

  private serveSession(session: Session): void {
    const env: Record<string, string> = {};
    session.on('env', (accept, _reject, info) => {
      env[info.key] = info.val;
      accept?.();
    });
    session.on('pty', (_accept, reject) => reject?.());
    session.on('shell', (_accept, reject) => reject?.());
    session.on('exec', (accept, _reject, info) => {
      const channel = accept();
      channel.on('error', () => {});
      // A hung host answers nothing, on connections opened before the hang too.
      if (this.hang) return;
      const command = info.command;
      const delivered = { ...env };
      if (Object.keys(delivered).length > 0) this.handler.onEnv(delivered);
      const run = (stdin: string) => {
        try {
          reply(channel, this.handler.run(command, stdin, delivered));
        } catch (err) {
          this.logger.error({ err }, 'sim host command failed');
          reply(channel, { stdout: '', stderr: 'sim-host: internal error\n', code: 1 });
        }
      };
      if (this.handler.readsStdin(command)) void readUntilEof(channel).then(run);
      else run('');
    });
  }
}
