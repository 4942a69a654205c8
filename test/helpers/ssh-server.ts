import { createServer, type Server as NetServer, type Socket } from 'node:net';
import type { Connection, Session } from 'ssh2';
import ssh2 from 'ssh2';
import { generateSshKeyPair } from '../../src/infra/ssh/keys.js';
import { authenticate, parsePublicKey, readUntilEof } from '../../src/sim/hosts/ssh-server.js';

const { Server } = ssh2;

export interface CommandOutput {
  stdout?: string;
  stderr?: string;
  code?: number;
}

export type CommandHandler = (
  command: string,
  env: Record<string, string>,
  stdin: string,
) => CommandOutput | Promise<CommandOutput>;

export interface TestSshServerOptions {
  /** Host private key (OpenSSH text); a fresh ed25519 key when absent. */
  hostKey?: string;
  /** The one public key line allowed to log in. */
  authorizedKey: string;
  handler?: CommandHandler;
  /** 'silent' accepts TCP and never sends the SSH banner. */
  behaviour?: 'normal' | 'silent';
  /** Listen on this port (to restart a server where a previous one was). */
  port?: number;
}

export interface ReceivedCommand {
  command: string;
  env: Record<string, string>;
  stdin: string;
}

export interface TestSshServer {
  port: number;
  hostKeyLine: string;
  /** The host private key, so a restarted server can present the same key. */
  hostPrivateKey: string;
  readonly connectionsAccepted: number;
  /** Every exec request the server received, in order. */
  readonly commands: readonly ReceivedCommand[];
  /** Cuts every TCP connection at once, as if the host died. */
  dropConnections(): void;
  /** Stops reading every open connection, as if the host hung with the socket still open. */
  freezeConnections(): void;
  close(): Promise<void>;
}

export interface TestKeyPair {
  privateKey: string;
  publicKey: string;
}

/**
 * ssh2's ed25519 generator strips a leading zero byte of the public key, so about 1 key in 256
 * cannot be parsed back (mscdex/ssh2#1390, #1513); draw again until both halves parse.
 */
export function generateTestKeyPair(): TestKeyPair {
  const pair = generateSshKeyPair();
  return { privateKey: pair.private, publicKey: pair.public };
}

function serveSession(session: Session, handler: CommandHandler, log: ReceivedCommand[]): void {
  const env: Record<string, string> = {};
  session.on('env', (accept, _reject, info) => {
    env[info.key] = info.val;
    accept?.();
  });
  session.on('exec', (accept, _reject, info) => {
    const channel = accept();
    channel.on('error', () => {});
    void (async () => {
      const stdin = await readUntilEof(channel);
      log.push({ command: info.command, env: { ...env }, stdin });
      const output = await handler(info.command, { ...env }, stdin);
      if (output.stdout) channel.write(output.stdout);
      if (output.stderr) channel.stderr.write(output.stderr);
      channel.exit(output.code ?? 0);
      channel.end();
    })().catch(() => channel.close());
  });
}

function listen(server: NetServer, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      const address = server.address();
      if (address === null || typeof address === 'string') reject(new Error('no TCP address'));
      else resolve(address.port);
    });
  });
}

/**
 * A real SSH server on 127.0.0.1 (ssh2's Server behind our own TCP listener, so tests can count
 * and cut connections), accepting one public key and answering exec requests with `handler`.
 */
export async function startTestSshServer(options: TestSshServerOptions): Promise<TestSshServer> {
  const hostPrivateKey = options.hostKey ?? generateTestKeyPair().privateKey;
  const hostKey = parsePublicKey(hostPrivateKey);
  const hostKeyLine = `${hostKey.type} ${hostKey.getPublicSSH().toString('base64')}`;
  const allowed = parsePublicKey(options.authorizedKey);
  const handler: CommandHandler = options.handler ?? (() => ({ code: 0 }));
  const commands: ReceivedCommand[] = [];
  const sockets = new Set<Socket>();
  let connectionsAccepted = 0;

  const sshServer = new Server({ hostKeys: [hostPrivateKey] }, (client: Connection) => {
    client.on('error', () => {});
    client.on('authentication', (ctx) => authenticate(ctx, allowed));
    client.on('session', (accept) => serveSession(accept(), handler, commands));
  });

  const tcp = createServer((socket) => {
    connectionsAccepted++;
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
    if (options.behaviour !== 'silent') sshServer.injectSocket(socket);
  });
  const port = await listen(tcp, options.port ?? 0);

  const dropConnections = () => {
    for (const socket of sockets) socket.destroy();
    sockets.clear();
  };

  const freezeConnections = () => {
    for (const socket of sockets) {
      socket.removeAllListeners('data');
      socket.pause();
    }
  };

  return {
    port,
    hostKeyLine,
    hostPrivateKey,
    get connectionsAccepted() {
      return connectionsAccepted;
    },
    commands,
    dropConnections,
    freezeConnections,
    close() {
      dropConnections();
      return new Promise<void>((resolve) => tcp.close(() => resolve()));
    },
  };
}
