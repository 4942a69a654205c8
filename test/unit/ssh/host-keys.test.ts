import { describe, expect, it } from 'vitest';
import {
  decideHostKey,
  fingerprint,
  hostKeyId,
  knownHostsStore,
  memoryHostKeyStore,
  openSshKeyLine,
  parseKnownHosts,
} from '../../../src/infra/ssh/host-keys.js';

// Generated with `ssh-keygen -t ed25519`; `ssh-keygen -lf` printed the fingerprint below.
const KEY_A = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGkbjuAP7sNQajkGLjNp2OwoXv98S7lG9PA7OtmMYJws';
const KEY_A_FINGERPRINT = 'SHA256:EbWWOKReD1ymESKK/JGWS1SfrQ+pCtdgiF6BKoCx6cY';
const KEY_B = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINO9e8a4bk4nmrpAHbgBpgUMqo4ivWwod6xS3ymIPGdc';

const blobOf = (line: string) => Buffer.from(line.split(' ')[1]!, 'base64');

describe('fingerprint', () => {
  it('matches what ssh-keygen -l prints', () => {
    expect(fingerprint(blobOf(KEY_A))).toBe(KEY_A_FINGERPRINT);
  });

  it('rebuilds the OpenSSH key line from a raw blob', () => {
    expect(openSshKeyLine(blobOf(KEY_A))).toBe(KEY_A);
  });
});

describe('hostKeyId', () => {
  it('uses the known_hosts spelling', () => {
    expect(hostKeyId('10.0.0.5', 22)).toBe('10.0.0.5');
    expect(hostKeyId('ssh4.vast.ai', 31234)).toBe('[ssh4.vast.ai]:31234');
  });
});

describe('decideHostKey', () => {
  it('accepts the pinned key, as a key line or as a fingerprint', () => {
    expect(decideHostKey(KEY_A, blobOf(KEY_A), false)).toEqual({ action: 'accept' });
    expect(decideHostKey(KEY_A_FINGERPRINT, blobOf(KEY_A), false)).toEqual({ action: 'accept' });
  });

  it('accepts any of several pinned keys (one per key type)', () => {
    expect(decideHostKey(`${KEY_B}\n${KEY_A}`, blobOf(KEY_A), false)).toEqual({ action: 'accept' });
  });

  it('refuses a changed key even when asked to learn', () => {
    const decision = decideHostKey(KEY_B, blobOf(KEY_A), true);
    expect(decision).toEqual({
      action: 'mismatch',
      expected: fingerprint(blobOf(KEY_B)),
      received: KEY_A_FINGERPRINT,
    });
  });

  it('treats an unparseable pinned value as a mismatch, never as unknown', () => {
    expect(decideHostKey('garbage', blobOf(KEY_A), true).action).toBe('mismatch');
  });

  it('learns an unknown key only on request', () => {
    expect(decideHostKey(undefined, blobOf(KEY_A), false)).toEqual({
      action: 'unknown',
      received: KEY_A_FINGERPRINT,
    });
    expect(decideHostKey(undefined, blobOf(KEY_A), true)).toEqual({
      action: 'learn',
      keyLine: KEY_A,
      received: KEY_A_FINGERPRINT,
    });
  });
});

describe('parseKnownHosts', () => {
  const text = [
    '# a comment',
    '',
    `host1.example,10.0.0.1 ${KEY_A} root@somewhere`,
    `[ssh4.vast.ai]:31234 ${KEY_B}`,
    `[10.0.0.2]:22 ${KEY_A}`,
    `host1.example ${KEY_B}`,
    `|1|F1E1KeoE/eEWhi10WpGv4OdiO6Y=|3988QV0VE8wmZL7suNrYQLITLCg= ${KEY_A}`,
    `@cert-authority *.example ${KEY_B}`,
    `*.wild ${KEY_A}`,
    `!negated ${KEY_A}`,
    'broken-line-without-key',
    'badkey ssh-ed25519 not-base64!!',
  ].join('\n');

  it('maps every plain host name to its keys', () => {
    const hosts = parseKnownHosts(text);
    expect(Object.fromEntries(hosts)).toEqual({
      'host1.example': [KEY_A, KEY_B],
      '10.0.0.1': [KEY_A],
      '[ssh4.vast.ai]:31234': [KEY_B],
      '10.0.0.2': [KEY_A],
    });
  });

  it('feeds a store the pool can verify against', async () => {
    const store = knownHostsStore(text);
    const pinned = await store.get('host1.example');
    expect(decideHostKey(pinned, blobOf(KEY_B), false)).toEqual({ action: 'accept' });
    expect(await store.get('unknown.example')).toBeUndefined();
  });
});

describe('memoryHostKeyStore', () => {
  it('keeps what is set', async () => {
    const store = memoryHostKeyStore({ a: KEY_A });
    await store.set('b', KEY_B);
    expect(await store.get('a')).toBe(KEY_A);
    expect(store.entries()).toEqual({ a: KEY_A, b: KEY_B });
  });
});
