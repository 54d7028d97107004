/** The Redis keys and channels of one cluster (one queue), under `agentchart:<queue>:`. */
export function clusterKeys(queue: string) {
  const prefix = `agentchart:${queue}`;
  return {
    /** The worker that executes a run now (expires unless its worker renews it). */
    owner: (runId: string) => `${prefix}:owner:${runId}`,
    /** The newest owner epoch of a run's stream: writes of an older epoch are refused. */
    epoch: (runId: string) => `${prefix}:epoch:${runId}`,
    /** The run's events, as a Redis Stream (`seq` and `event` fields). */
    events: (runId: string) => `${prefix}:events:${runId}`,
    /** Controls waiting for the run's worker (a list of JSON). */
    controls: (runId: string) => `${prefix}:controls:${runId}`,
    /**
     * Controls the run's worker took and has not finished with: applied, and their effect on the
     * run not yet in its checkpoints. The next worker to hold the run applies them again.
     */
    applying: (runId: string) => `${prefix}:applying:${runId}`,
    /** Set while a job for the run waits in the queue (the watchdog leaves such runs alone). */
    queued: (runId: string) => `${prefix}:queued:${runId}`,
    /** The channel a worker hears about controls for its runs on. */
    workerChannel: (workerId: string) => `${prefix}:worker:${workerId}`,
    /** The channel a client hears its replies on. */
    replyChannel: (clientId: string) => `${prefix}:reply:${clientId}`,
  };
}

export type ClusterKeys = ReturnType<typeof clusterKeys>;

/**
 * The BullMQ job id of a run's dispatch: the run id, made safe for BullMQ (no `:`, never a bare
 * integer), so that dispatching a run twice while its job waits is a no-op. A continuation gets a
 * suffix of its own.
 */
export function jobIdOf(runId: string, continuation?: string): string {
  const safe = `run~${runId.replaceAll(':', '%3A')}`;
  return continuation === undefined ? safe : `${safe}~${continuation}`;
}

/** Lua: a control's JSON marked as taken before (`"again":true`), once however often it is marked. */
const markedAgain = `local function again(text)
  if string.sub(text, 1, 14) == '{"again":true,' then return text end
  return '{"again":true,' .. string.sub(text, 2)
end`;

/** Lua scripts: each decided by Redis in one step. */
export const scripts = {
  /** KEYS: owner. ARGV: worker, ttl ms. Takes the run if nobody holds it. */
  takeOwner: {
    numberOfKeys: 1,
    lua: `return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0`,
  },
  /** KEYS: owner. ARGV: worker, ttl ms. Renews the hold of this worker only. */
  renewOwner: {
    numberOfKeys: 1,
    lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end`,
  },
  /** KEYS: owner. ARGV: worker. Lets go of the run, if this worker holds it. */
  releaseOwner: {
    numberOfKeys: 1,
    lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`,
  },
  /** KEYS: epoch, events. ARGV: epoch. Moves the stream's epoch on (refusing an older one), and keeps the stream. */
  claimStream: {
    numberOfKeys: 2,
    lua: `local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
if current > tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('PERSIST', KEYS[2])
return 1`,
  },
  /**
   * KEYS: epoch, events. ARGV: epoch, maxLen, then seq and event JSON pairs. Appends the events
   * unless a newer owner claimed the stream (a zombie writes nothing).
   */
  appendEvents: {
    numberOfKeys: 2,
    lua: `local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
if current > tonumber(ARGV[1]) then return 0 end
if current < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
for i = 3, #ARGV, 2 do
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'seq', ARGV[i], 'event', ARGV[i + 1])
end
return 1`,
  },
  /**
   * KEYS: applying, controls. Puts the controls a previous holder of the run took and did not
   * finish with back at the head of its controls, in their order, each marked `"again":true`.
   */
  requeueControls: {
    numberOfKeys: 2,
    lua: `${markedAgain}
local moved = 0
while true do
  local text = redis.call('RPOP', KEYS[1])
  if not text then return moved end
  redis.call('LPUSH', KEYS[2], again(text))
  moved = moved + 1
end`,
  },
  /**
   * KEYS: owner, controls, applying. ARGV: worker. Takes the run's next control into `applying`, if
   * this worker holds the run (a worker that lost it takes nothing); nil when there is none.
   */
  takeControl: {
    numberOfKeys: 3,
    lua: `if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
return redis.call('LMOVE', KEYS[2], KEYS[3], 'LEFT', 'RIGHT')`,
  },
  /**
   * KEYS: applying, controls. ARGV: the control's JSON. Gives a control this worker took back to
   * the head of the run's controls, marked `"again":true`, unless the run's next holder took it
   * back already.
   */
  giveBackControl: {
    numberOfKeys: 2,
    lua: `${markedAgain}
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
redis.call('LPUSH', KEYS[2], again(ARGV[1]))
return 1`,
  },
  /** KEYS: epoch, events. ARGV: epoch, ttl ms. The run ended: its stream expires later. */
  endStream: {
    numberOfKeys: 2,
    lua: `local current = tonumber(redis.call('GET', KEYS[1]) or '-1')
if current > tonumber(ARGV[1]) then return 0 end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`,
  },
} as const;
