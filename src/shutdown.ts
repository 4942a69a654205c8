import type { Logger } from './logger.js';

/**
 * Ordered shutdown: steps run in the order they were registered (stop taking Slack requests →
 * workers → queues → SSH pool → Redis), each awaited, a failing step logged and skipped. Calling
 * `close()` again returns the same in-flight promise.
 */
export class Shutdown {
  private readonly steps: { name: string; run: () => Promise<unknown> }[] = [];
  private closing: Promise<void> | undefined;

  constructor(private readonly logger: Logger) {}

  add(name: string, run: () => Promise<unknown>): void {
    this.steps.push({ name, run });
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const step of this.steps) {
        try {
          await step.run();
        } catch (err) {
          this.logger.warn({ err, step: step.name }, 'shutdown step failed');
        }
      }
    })();
    return this.closing;
  }

  /** SIGTERM/SIGINT close once; a second signal while closing forces exit. */
  installSignalHandlers(exit: (code: number) => void = process.exit): void {
    let signalled = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (signalled) {
        this.logger.warn({ signal }, 'second signal: exiting now');
        exit(1);
        return;
      }
      signalled = true;
      this.logger.info({ signal }, 'shutting down');
      void this.close().then(() => exit(0));
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  }
}
