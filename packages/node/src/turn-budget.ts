/**
 * A budget of work per turn of the event loop, shared by every loop of the process that
 * could otherwise keep it busy: each shard's apply loop, the batch replay, and the slices
 * of snapshots, checkpoints and sweeps ({@link yieldToEventLoop}).
 *
 * Why: each loop yielding on its own every so many events is not enough. 64 shard loops
 * that each apply a batch, then `setImmediate`, all resume in the same check phase: one
 * turn then runs 64 batches, and a read that arrived meanwhile waits for all of them (tens
 * of ms under full-speed ingest). With one budget, a turn runs at most `budgetMs` of such
 * work (plus the unit in hand), then every loop waits for the same next turn, and the
 * event loop polls I/O (reads, lease renewals, heartbeats) in between.
 *
 * The clock is read every `checkEvery` units of a loop, so checking costs little next to
 * applying an event. Loops that found the turn spent before doing any work in it are woken
 * first in the next one, so a busy loop cannot starve the others.
 */

/** Options of {@link TurnBudget}. */
export interface TurnBudgetOptions {
  /** Work per turn, in ms, before the loops wait for the next turn. @default 2 */
  budgetMs?: number;
  /** Units of work between two readings of the clock, per loop. @default 8 */
  checkEvery?: number;
  /** The clock, in ms. @default performance.now */
  now?: () => number;
  /** Runs `fn` on the next turn, after pending I/O. @default setImmediate */
  schedule?: (fn: () => void) => void;
}

/** The budget the node's loops share: about 2 ms of work per turn of the event loop. */
export const APPLY_TURN_BUDGET_MS = 2;

/** See the module comment. One per process (the event loop is the process's): {@link turnBudget}. */
export class TurnBudget {
  readonly budgetMs: number;
  readonly checkEvery: number;
  readonly #now: () => number;
  readonly #schedule: (fn: () => void) => void;
  /** Counts the turns that have ended. */
  #turn = 0;
  /** When the current turn's first unit of work began; undefined until one does. */
  #startedAt: number | undefined;
  /** True while the end of the current turn is scheduled. */
  #scheduled = false;
  /** Loops waiting for the next turn that did no work in this one: woken first. */
  #starved: (() => void)[] = [];
  /** Loops waiting for the next turn that worked in this one (and free-standing slices). */
  #worked: (() => void)[] = [];

  constructor(opts: TurnBudgetOptions = {}) {
    this.budgetMs = opts.budgetMs ?? APPLY_TURN_BUDGET_MS;
    this.checkEvery = opts.checkEvery ?? 8;
    this.#now = opts.now ?? (() => performance.now());
    this.#schedule = opts.schedule ?? ((fn) => void setImmediate(fn));
  }

  /** The number of the current turn (how many have ended). */
  get turn(): number {
    return this.#turn;
  }

  /** Loops waiting for the next turn. */
  get waiting(): number {
    return this.#starved.length + this.#worked.length;
  }

  /**
   * A handle for one loop, which calls {@link TurnGate.pass} before each unit of work.
   * `checkEvery` (default: the budget's) is how many units pass between readings of the
   * clock: 1 for units that can take a millisecond.
   */
  gate(checkEvery = this.checkEvery): TurnGate {
    return new TurnGate(this, checkEvery);
  }

  /**
   * Starts `start(item)` for each of `items`, each once the turn has budget left: work begun
   * for every shard at once (a snapshot, a checkpoint) is spread over turns instead of all
   * its first slices running in one timer callback. Resolves once every item is started.
   */
  async spread<T>(items: Iterable<T>, start: (item: T) => void): Promise<void> {
    const gate = this.gate(1);
    for (const item of items) {
      for (let wait = gate.pass(); wait; wait = gate.pass()) await wait;
      start(item);
    }
  }

  /**
   * For a slice of work already done (a free-standing loop without a gate): resolves at
   * once (in a microtask) while the turn has budget left, else on the next turn.
   */
  afterSlice(): Promise<void> {
    return this.hasBudget() ? Promise.resolve() : this.nextTurn(true);
  }

  /** True while the current turn has budget left; the first call after a turn ended starts the next. */
  hasBudget(): boolean {
    const now = this.#now();
    if (this.#startedAt === undefined) {
      this.#startedAt = now;
      this.#endTurnSoon();
      return true;
    }
    return now - this.#startedAt < this.budgetMs;
  }

  /** Resolves on the next turn; `worked` says whether the caller did work in this one (it is then woken later). */
  nextTurn(worked: boolean): Promise<void> {
    return new Promise((resolve) => {
      (worked ? this.#worked : this.#starved).push(resolve);
      this.#endTurnSoon();
    });
  }

  #endTurnSoon(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#schedule(() => this.#endTurn());
  }

  #endTurn(): void {
    this.#scheduled = false;
    this.#turn++;
    this.#startedAt = undefined;
    const wake = this.#starved.concat(this.#worked);
    this.#starved = [];
    this.#worked = [];
    for (const resolve of wake) resolve();
  }
}

/** One loop's use of a {@link TurnBudget}. */
export class TurnGate {
  readonly #budget: TurnBudget;
  readonly #checkEvery: number;
  /** The turn in which this loop last did work, and how many units since it read the clock. */
  #workedIn = -1;
  #unchecked = 0;

  constructor(budget: TurnBudget, checkEvery: number) {
    this.#budget = budget;
    this.#checkEvery = checkEvery;
  }

  /**
   * Called before each unit of work: undefined when it may run now, else a promise of the
   * next turn (then call again: the turn may be spent by then too, by others).
   *
   * @example
   * for await (const m of messages) {
   *   let wait;
   *   while ((wait = gate.pass())) await wait;
   *   apply(m);
   * }
   */
  pass(): Promise<void> | undefined {
    const b = this.#budget;
    if (this.#workedIn === b.turn && ++this.#unchecked < this.#checkEvery) return undefined;
    this.#unchecked = 0;
    if (b.hasBudget()) {
      this.#workedIn = b.turn;
      return undefined;
    }
    return b.nextTurn(this.#workedIn === b.turn);
  }
}

/** The process's budget, shared by every node in it (they share the event loop). */
export const turnBudget = new TurnBudget();
