import test from "ava";
import { TurnBudget, type TurnGate } from "../src/turn-budget.js";

/** A budget on a clock the test moves, whose turns end only when the test says so. */
function manualBudget(budgetMs: number, checkEvery = 1) {
  const clock = { ms: 0, reads: 0 };
  let pending: (() => void) | undefined;
  const budget = new TurnBudget({
    budgetMs,
    checkEvery,
    now: () => {
      clock.reads++;
      return clock.ms;
    },
    schedule: (fn) => {
      if (pending) throw new Error("a turn end was scheduled twice");
      pending = fn;
    },
  });
  /** Ends the current turn (as the `setImmediate` would) and lets the woken loops run. */
  const endTurn = async () => {
    const fn = pending;
    pending = undefined;
    fn?.();
    await flush();
  };
  return { budget, clock, endTurn, scheduled: () => pending !== undefined };
}

/** Lets every promise continuation queued so far (and those they queue) run. */
const flush = () => new Promise<void>((r) => setImmediate(r));

/** A loop that takes `units` units of work through `gate`, each moving the clock by `costMs`; records its units. */
async function worker(
  name: string,
  gate: TurnGate,
  units: number,
  costMs: number,
  clock: { ms: number },
  log: string[],
): Promise<void> {
  for (let i = 0; i < units; i++) {
    for (let wait = gate.pass(); wait; wait = gate.pass()) await wait;
    clock.ms += costMs;
    log.push(name);
  }
}

test("TurnBudget - work runs while the turn has budget, then waits for the next turn", async (t) => {
  const { budget, clock, endTurn } = manualBudget(2);
  const log: string[] = [];
  const done = worker("a", budget.gate(), 5, 1, clock, log);
  await flush();
  t.deepEqual(log, ["a", "a"], "2 ms of budget: two units of 1 ms");
  t.is(budget.waiting, 1);
  await endTurn();
  t.is(log.length, 4);
  await endTurn();
  await done;
  t.is(log.length, 5);
  t.is(budget.turn, 2);
});

test("TurnBudget - loops that got nothing in a turn are woken first in the next", async (t) => {
  const { budget, clock, endTurn } = manualBudget(2);
  const log: string[] = [];
  const done = Promise.all(["a", "b", "c"].map((name) => worker(name, budget.gate(), 4, 1, clock, log)));
  await flush();
  // a spends the first turn; b and c found it spent and waited without working.
  t.deepEqual(log, ["a", "a"]);
  await endTurn();
  t.deepEqual(log.slice(2), ["b", "b"], "b (starved) before a (which worked)");
  await endTurn();
  t.deepEqual(log.slice(4), ["c", "c"]);
  await endTurn();
  t.deepEqual(log.slice(6), ["a", "a"]);
  for (let i = 0; i < 10 && log.length < 12; i++) await endTurn();
  await done;
  t.is(log.length, 12);
  for (const name of ["a", "b", "c"]) t.is(log.filter((x) => x === name).length, 4);
});

test("TurnBudget - a gate reads the clock once per checkEvery units within a turn", (t) => {
  const { budget, clock } = manualBudget(1000, 8);
  const gate = budget.gate();
  for (let i = 0; i < 64; i++) t.is(gate.pass(), undefined);
  t.is(clock.reads, 8);
  // A gate of units that can be long reads it every unit.
  const every = budget.gate(1);
  clock.reads = 0;
  for (let i = 0; i < 5; i++) t.is(every.pass(), undefined);
  t.is(clock.reads, 5);
});

test("TurnBudget - a loop that stops reading the clock can overrun by at most checkEvery units", async (t) => {
  const { budget, clock, endTurn } = manualBudget(2, 4);
  const log: string[] = [];
  const done = worker("a", budget.gate(), 10, 1, clock, log);
  await flush();
  // Clock read at units 1 and 5: at the 5th it shows 4 ms > 2 ms, so 4 units ran.
  t.is(log.length, 4);
  for (let i = 0; i < 5 && log.length < 10; i++) await endTurn();
  await done;
  t.is(log.length, 10);
});

test("TurnBudget - the turn ends on its own: nothing waits once the scheduled end has run", async (t) => {
  const { budget, clock, endTurn, scheduled } = manualBudget(1);
  const gate = budget.gate();
  t.is(gate.pass(), undefined);
  t.true(scheduled(), "starting a turn schedules its end");
  clock.ms += 5;
  const wait = gate.pass();
  t.truthy(wait);
  t.is(budget.waiting, 1);
  await endTurn();
  await wait;
  t.is(budget.waiting, 0);
  t.false(scheduled(), "no turn is open until work starts again");
  t.is(gate.pass(), undefined, "a new turn has a full budget");
});

test("TurnBudget - afterSlice goes on at once with budget left, else on the next turn", async (t) => {
  const { budget, clock, endTurn } = manualBudget(2);
  let resumed = false;
  await budget.afterSlice();
  clock.ms += 3;
  const next = budget.afterSlice().then(() => (resumed = true));
  await flush();
  t.false(resumed);
  await endTurn();
  await next;
  t.true(resumed);
});

test("TurnBudget - spread starts each item in a turn with budget left, all of them in the end", async (t) => {
  const { budget, clock, endTurn } = manualBudget(2);
  const started: number[] = [];
  let finished = false;
  const done = budget
    .spread([1, 2, 3, 4, 5], (i) => {
      clock.ms += 1;
      started.push(i);
    })
    .then(() => (finished = true));
  await flush();
  t.deepEqual(started, [1, 2]);
  await endTurn();
  t.deepEqual(started, [1, 2, 3, 4]);
  t.false(finished);
  await endTurn();
  await done;
  t.deepEqual(started, [1, 2, 3, 4, 5]);
});

test("TurnBudget - with the real event loop, timers run between the turns of busy loops", async (t) => {
  const budget = new TurnBudget({ budgetMs: 2 });
  // One unit of CPU-bound work: spins until its own deadline, `ms` from now (no I/O to wait on).
  const busy = (ms: number) => {
    const end = performance.now() + ms;
    while (performance.now() < end);
  };
  let unitsBeforeTimer = -1;
  let units = 0;
  // Not a wait: the probe under test. It records how many units ran before the event loop
  // got to its timers; without the budget it would run only after all 400.
  const probe = setTimeout(() => (unitsBeforeTimer = units), 0);
  t.teardown(() => clearTimeout(probe));
  // Four loops of 100 units of 0.25 ms: 100 ms of work in all, never waiting on I/O.
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      const gate = budget.gate(1);
      for (let i = 0; i < 100; i++) {
        for (let wait = gate.pass(); wait; wait = gate.pass()) await wait;
        busy(0.25);
        units++;
      }
    }),
  );
  t.is(units, 400);
  t.true(unitsBeforeTimer >= 0 && unitsBeforeTimer < 400, `the timer ran after ${unitsBeforeTimer} of 400 units`);
  t.true(budget.turn > 1, "the work took more than one turn");
});
