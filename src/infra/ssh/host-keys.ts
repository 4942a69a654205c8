import { createHash } from 'node:crypto';

/**
 * Where pinned host keys live. `hostId` is the OpenSSH known_hosts spelling of the endpoint
 * (`host` on port 22, `[host]:port` otherwise; see `hostKeyId`). A stored value is one or more
 * OpenSSH public key lines (`ssh-ed25519 AAAA...`), newline-separated, or `SHA256:` fingerprints;
 * the pool accepts the host when the key it presents matches any of them. The pool writes
 * key lines when it learns a key, so a store can be exported back to known_hosts.
 */
export interface HostKeyStore {
  get(hostId: string): Promise<string | undefined>;
  set(hostId: string, key: string): Promise<void>;
}

/** OpenSSH-style fingerprint of a raw host key blob: `SHA256:` + unpadded base64 of its digest. */
export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The known_hosts name of an endpoint, so a known_hosts file and the pool agree on ids. */
export function hostKeyId(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** The key type is the first length-prefixed string inside an SSH wire-format key blob. */
function keyTypeOf(keyBlob: Buffer): string | undefined {
  if (keyBlob.length < 4) return undefined;
  const length = keyBlob.readUInt32BE(0);
  if (length === 0 || length > 64 || 4 + length > keyBlob.length) return undefined;
  return keyBlob.subarray(4, 4 + length).toString('latin1');
}

/** `ssh-ed25519 AAAA...` for a raw key blob, as OpenSSH writes it in known_hosts. */
export function openSshKeyLine(keyBlob: Buffer): string {
  return `${keyTypeOf(keyBlob) ?? 'unknown'} ${keyBlob.toString('base64')}`;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,3}$/;

/**
 * The fingerprint a stored entry stands for: a `SHA256:` value as-is, or a key line's blob
 * hashed. Returns undefined for text that is neither, which the caller treats as a mismatch.
 */
export function storedKeyFingerprint(entry: string): string | undefined {
  const trimmed = entry.trim();
  if (trimmed.startsWith('SHA256:')) return trimmed;
  const [type, data] = trimmed.split(/\s+/);
  if (type === undefined || data === undefined || !BASE64.test(data)) return undefined;
  const blob = Buffer.from(data, 'base64');
  return keyTypeOf(blob) === type ? fingerprint(blob) : undefined;
}

export type HostKeyDecision =
  | { action: 'accept' }
  | { action: 'learn'; keyLine: string; received: string }
  | { action: 'unknown'; received: string }
  | { action: 'mismatch'; expected: string; received: string };

/**
 * Pinning decision, kept pure: a pinned key that differs is refused even when learning (a
 * changed key is exactly what pinning is for); an unknown key is learned only on request.
 */
export function decideHostKey(pinned: string | undefined, keyBlob: Buffer, learn: boolean): HostKeyDecision {
  const received = fingerprint(keyBlob);
  if (pinned === undefined || pinned.trim() === '') {
    return learn
      ? { action: 'learn', keyLine: openSshKeyLine(keyBlob), received }
      : { action: 'unknown', received };
  }
  const entries = pinned.split('\n').filter((line) => line.trim() !== '');
  const expected = entries.map((line) => storedKeyFingerprint(line) ?? 'unparseable');
  if (expected.includes(received)) return { action: 'accept' };
  return { action: 'mismatch', expected: expected.join(','), received };
}

/** A process-local store: for tests, the simulator, and as the base of `knownHostsStore`. */
export function memoryHostKeyStore(initial: Record<string, string> = {}): HostKeyStore & {
  entries(): Record<string, string>;
} {
  const keys = new Map(Object.entries(initial));
  return {
    get: async (hostId) => keys.get(hostId),
    set: async (hostId, key) => {
      keys.set(hostId, key);
    },
    entries: () => Object.fromEntries(keys),
  };
}

/** `[host]:22` and `host` name the same endpoint; normalise to the pool's `hostKeyId`. */
function normaliseKnownHost(name: string): string | undefined {
  if (name === '' || name.startsWith('!') || /[*?]/.test(name)) return undefined;
  const bracketed = /^\[([^\]]+)\]:(\d+)$/.exec(name);
  if (bracketed) return hostKeyId(bracketed[1]!, Number(bracketed[2]));
  return name;
}

/**
 * Parses OpenSSH known_hosts text into hostId -> key lines. Hashed names (`|1|`), wildcard and
 * negated patterns, `@cert-authority`/`@revoked` markers and comments are skipped: none of them
 * can be matched to a single endpoint without guessing.
 */
export function parseKnownHosts(text: string): Map<string, string[]> {
  const hosts = new Map<string, string[]>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('@') || line.startsWith('|')) continue;
    const [names, type, data] = line.split(/\s+/);
    if (names === undefined || type === undefined || data === undefined) continue;
    const keyLine = `${type} ${data}`;
    if (storedKeyFingerprint(keyLine) === undefined) continue;
    for (const name of names.split(',')) {
      const id = normaliseKnownHost(name);
      if (id === undefined) continue;
      const list = hosts.get(id) ?? [];
      if (!list.includes(keyLine)) list.push(keyLine);
      hosts.set(id, list);
    }
  }
  return hosts;
}

/**
 * A store seeded from known_hosts text (SSH_KNOWN_HOSTS, static hosts). Keys learned later live
 * in memory only: persisting them is the job of a durable store such as the Redis one.
 */
export function knownHostsStore(text: string): HostKeyStore & { entries(): Record<string, string> } {
  const initial: Record<string, string> = {};
  for (const [id, lines] of parseKnownHosts(text)) initial[id] = lines.join('\n');
  return memoryHostKeyStore(initial);
}
