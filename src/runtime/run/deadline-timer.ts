import type { Clock } from '../../clock.js';
import type { AgentRunSnapshot } from '../../machines/agent-run-machine.js';
import type { RunDeadlines } from '../../machines/agent-run-types.js';
import type { RunPhase } from '../../streaming/run-event.js';

/** Arms one timer for the earliest deadline that applies to a run's current phase. */
export interface DeadlineTimer {
  /** Re-arms from a new snapshot (a no-op when the due deadline did not change). */
  arm(snapshot: AgentRunSnapshot): void;
  clear(): void;
}

/**
 * Creates the timer of a run's deadlines. XState does not persist delayed events, so the deadlines
 * are absolute times in the context and this timer is armed from them on every snapshot, on start
 * and on restore alike: a run restored after its deadline times out at once. A run that waits
 * (`paused`, `waiting_input`) holds no timer but its total deadline.
 */
export function createDeadlineTimer(
  clock: Clock,
  onDue: (limit: keyof RunDeadlines, phase: RunPhase) => void,
): DeadlineTimer {
  let timer: unknown;
  let armed: string | undefined;
  const clear = () => {
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = undefined;
    armed = undefined;
  };
  return {
    arm(snapshot) {
      if (snapshot.status !== 'active') return clear();
      const phase = snapshot.value as RunPhase;
      const { deadlines } = snapshot.context;
      const candidates: [keyof RunDeadlines, number | undefined][] = [
        ['total', deadlines.total],
        ['plan', phase === 'plan' ? deadlines.plan : undefined],
        ['act', phase === 'act' ? deadlines.act : undefined],
      ];
      let due: [keyof RunDeadlines, number] | undefined;
      for (const [limit, at] of candidates)
        if (at !== undefined && (due === undefined || at < due[1])) due = [limit, at];
      const key = due === undefined ? undefined : `${due[0]}@${due[1]}@${phase}`;
      if (key === armed) return;
      clear();
      if (due === undefined) return;
      const [limit, at] = due;
      armed = key;
      timer = clock.setTimeout(
        () => {
          timer = undefined;
          armed = undefined;
          onDue(limit, phase);
        },
        Math.max(0, at - clock.now()),
      );
    },
    clear,
  };
}
