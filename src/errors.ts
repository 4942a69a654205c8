/**
 * One error hierarchy for the whole service. Each failure has its own subclass so callers can
 * branch on `instanceof`, and every error keeps the `cause` that produced it.
 */
export class ConductorError extends Error {
  override readonly name: string = 'ConductorError';
  /** Permanent errors must not be retried by a queue (the processor maps them to UnrecoverableError). */
  readonly permanent: boolean = false;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export class ConfigError extends ConductorError {
  override readonly name = 'ConfigError';
  override readonly permanent = true;
}

/** An operating rule said no. `rule` names the rule so the journal and Slack can say which one. */
export class PolicyViolation extends ConductorError {
  override readonly name = 'PolicyViolation';
  override readonly permanent = true;

  constructor(
    readonly rule: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class ValidationError extends ConductorError {
  override readonly name = 'ValidationError';
  override readonly permanent = true;
}

export class SshError extends ConductorError {
  override readonly name: string = 'SshError';
}

export class SshTimeoutError extends SshError {
  override readonly name = 'SshTimeoutError';
}

export class SshConnectError extends SshError {
  override readonly name = 'SshConnectError';
}

export class HostKeyMismatchError extends SshError {
  override readonly name = 'HostKeyMismatchError';
  override readonly permanent = true;

  constructor(
    readonly host: string,
    readonly expected: string,
    readonly received: string,
  ) {
    super(`host key for ${host} changed: expected ${expected}, received ${received}`);
  }
}

export class VastApiError extends ConductorError {
  override readonly name: string = 'VastApiError';

  constructor(
    message: string,
    readonly status: number,
    readonly code?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get retryable(): boolean {
    return this.status === 429 || this.status >= 500 || this.status === 0;
  }
}

export class SlackApiError extends ConductorError {
  override readonly name = 'SlackApiError';

  constructor(
    message: string,
    readonly code: string,
    readonly retryAfterS?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class ProposalError extends ConductorError {
  override readonly name = 'ProposalError';
  override readonly permanent = true;

  constructor(
    readonly reason: 'not_found' | 'consumed' | 'expired',
    message: string,
  ) {
    super(message);
  }
}

export class LockBusyError extends ConductorError {
  override readonly name = 'LockBusyError';
}

export class LlmError extends ConductorError {
  override readonly name = 'LlmError';
}

export class RedisUnavailableError extends ConductorError {
  override readonly name = 'RedisUnavailableError';
  override readonly permanent = true;
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The SSH connection died under a running command (reset, server gone, keepalive lost). */
export class SshDroppedError extends SshError {
  override readonly name = 'SshDroppedError';
}

/** No host key is pinned for this host and the caller did not ask to learn one. */
export class UnknownHostKeyError extends SshError {
  override readonly name = 'UnknownHostKeyError';
  override readonly permanent = true;

  constructor(
    readonly host: string,
    readonly received: string,
  ) {
    super(`no host key pinned for ${host} (received ${received}); refusing to connect`);
  }
}

/**
 * A rent whose outcome is unknown: the request may have reached Vast.ai (timeout, reset, 5xx after
 * sending), so an instance may exist. Renting is not idempotent: look the instance up by `label`
 * before renting again, never retry blindly.
 */
export class VastRentUnknownError extends VastApiError {
  override readonly name = 'VastRentUnknownError';

  constructor(
    message: string,
    status: number,
    code: string,
    readonly offerId: number,
    readonly label: string,
    options?: { cause?: unknown },
  ) {
    super(message, status, code, options);
  }

  override get retryable(): boolean {
    return false;
  }
}

/**
 * An action ran and did not achieve its goal (a restart brought no progress, no replacement
 * could be brought up). A human has been paged; retrying the job would only repeat it.
 */
export class ActionFailedError extends ConductorError {
  override readonly name = 'ActionFailedError';
  override readonly permanent = true;
}
