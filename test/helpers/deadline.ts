/**
 * Resolves like `promise`, or rejects once `timeoutMs` have passed, with a message that
 * says what was awaited: for the awaits a test cannot poll (a process exit, a node's
 * close), so a hang fails the test in its own time instead of ava's.
 *
 * @example
 * t.is(await within(node.exited, 30_000, "node b to exit after SIGTERM"), 0);
 */
export async function within<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
