/**
 * "Something changed, plan again": raised by membership and lease watches, and by
 * shards given up. Built before the node that listens to it, so the watches can
 * start first; a change raised before anyone listens needs no delivery, since the
 * node's first planning round reads the state anyway.
 */
export class ChangeSignal {
  #listener: (() => void) | undefined;

  notify(): void {
    this.#listener?.();
  }

  /** Sets the one listener. */
  listen(fn: () => void): void {
    this.#listener = fn;
  }
}
