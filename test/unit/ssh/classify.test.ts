import { describe, expect, it } from 'vitest';
import {
  HostKeyMismatchError,
  SshConnectError,
  SshDroppedError,
  SshError,
  SshTimeoutError,
  UnknownHostKeyError,
} from '../../../src/errors.js';
import { classifySshError } from '../../../src/infra/ssh/classify.js';

function sshLibError(message: string, facts: { code?: string; level?: string }): Error {
  return Object.assign(new Error(message), facts);
}

describe('classifySshError', () => {
  it('names our own subclasses', () => {
    expect(classifySshError(new SshTimeoutError('t'))).toBe('timeout');
    expect(classifySshError(new HostKeyMismatchError('h', 'a', 'b'))).toBe('host_key');
    expect(classifySshError(new UnknownHostKeyError('h', 'b'))).toBe('host_key');
    expect(classifySshError(new SshDroppedError('d'))).toBe('dropped');
  });

  it('looks through the cause chain of a connect error', () => {
    const refused = sshLibError('connect ECONNREFUSED 127.0.0.1:1', {
      code: 'ECONNREFUSED',
      level: 'client-socket',
    });
    expect(classifySshError(new SshConnectError('x', { cause: refused }))).toBe('refused');
    const backoff = new SshConnectError('backing off', {
      cause: new SshConnectError('x', { cause: refused }),
    });
    expect(classifySshError(backoff)).toBe('refused');
  });

  it('reads ssh2 levels and socket codes', () => {
    const auth = sshLibError('All configured authentication methods failed', {
      level: 'client-authentication',
    });
    expect(classifySshError(auth)).toBe('auth');
    const handshake = sshLibError('Timed out while waiting for handshake', { level: 'client-timeout' });
    expect(classifySshError(handshake)).toBe('timeout');
    expect(classifySshError(sshLibError('Keepalive timeout', { level: 'client-timeout' }))).toBe('dropped');
    expect(classifySshError(sshLibError('read ECONNRESET', { code: 'ECONNRESET' }))).toBe('dropped');
    expect(classifySshError(sshLibError('No response from server', {}))).toBe('dropped');
    expect(classifySshError(sshLibError('connect EHOSTUNREACH', { code: 'EHOSTUNREACH' }))).toBe('refused');
  });

  it('falls back to other', () => {
    expect(classifySshError(new SshError('odd'))).toBe('other');
    expect(classifySshError('a string')).toBe('other');
    expect(classifySshError(undefined)).toBe('other');
  });
});
