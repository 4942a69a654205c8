export { connectBackoffMs } from './backoff.js';
export { classifySshError, type SshErrorKind } from './classify.js';
export {
  decideHostKey,
  fingerprint,
  type HostKeyDecision,
  type HostKeyStore,
  hostKeyId,
  knownHostsStore,
  memoryHostKeyStore,
  openSshKeyLine,
  parseKnownHosts,
} from './host-keys.js';
export { createSshPool } from './pool.js';
export { type RedisHostKeyStore, redisHostKeyStore } from './redis-host-keys.js';
export type { ExecOptions, ExecResult, SshPool, SshPoolOptions, SshPoolStats, SshTarget } from './types.js';
