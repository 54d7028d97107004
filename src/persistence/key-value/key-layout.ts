/**
 * Where each record lives in an ordered key-value space (LevelDB, memory): every key of the store,
 * in one place. Numbers are zero-padded so that byte order is numeric order.
 */

/** The last character a key holds: a range up to `prefix + end` covers every key with that prefix. */
export const end = '\uffff';

const pad = (value: number, width: number) => String(value).padStart(width, '0');

/** The keys that start with `prefix`, as a range. */
export const prefixRange = (prefix: string) => ({ gte: prefix, lt: prefix + end });

/**
 * The kinds of key a conditional batch of the store ever checks (`batchIf`'s expectations): a
 * batch that writes one of them must lock it, so that it never lands between another batch's check
 * and write. The other kinds (content stored by hash, entries written once or only with a checked
 * key) need no lock. A new expectation on another kind must be added here (a test checks it).
 */
const checkedKinds = new Set(['run', 'epoch', 'evm', 'cmeta', 'sess', 'scommit']);

/** Whether a conditional batch of the store may check `key` (see `checkedKinds`). */
export const isCheckedKey = (key: string): boolean => checkedKinds.has(key.slice(0, key.indexOf('!')));

export const keys = {
  /** A run's record. */
  run: (runId: string) => `run!${runId}`,
  runs: 'run!',
  /** The index of runs by status (empty values). */
  runStatus: (status: string, runId: string) => `rstat!${status}!${runId}`,
  runsWithStatus: (status: string) => `rstat!${status}!`,
  /** A checkpoint's description, and its body (context without messages, and snapshot). */
  checkpointMeta: (checkpointId: string) => `cmeta!${checkpointId}`,
  checkpointBody: (checkpointId: string) => `cbody!${checkpointId}`,
  /** A run's checkpoints by step (value: the checkpoint id). */
  checkpointStep: (runId: string, stepNum: number) => `cseq!${runId}!${pad(stepNum, 12)}`,
  checkpointSteps: (runId: string) => `cseq!${runId}!`,
  /** Every checkpoint by the time it was saved (value: the checkpoint id). */
  checkpointTime: (savedAt: string, checkpointId: string) => `ctime!${savedAt}!${checkpointId}`,
  checkpointTimes: 'ctime!',
  /**
   * A message log's stored messages (role and block hashes), by position. A run writes to its log
   * (`RunRecord`'s log: its id, or a new one after its newest checkpoints were deleted); a log never
   * changes a position it wrote, so forks can share it.
   */
  messageLog: (logId: string, index: number) => `log!${logId}!${pad(index, 10)}`,
  /** The log a message log starts from: `{ logId, count }` (its first `count` messages are that log's). */
  messageLogInherits: (logId: string) => `loginh!${logId}`,
  /** A content block, by the SHA-256 of its JSON. */
  blob: (hash: string) => `blob!${hash}`,
  /** A run's owner epoch (see `RunStore.claimRun`), apart from its record so that other writes can expect it. */
  runEpoch: (runId: string) => `epoch!${runId}`,
  /** A run's journal of tool results (the hash of each result block), by tool-call id. */
  toolResult: (runId: string, toolCallId: string) => `tool!${runId}!${toolCallId}`,
  /** The runs started from checkpoints of a run (value: the checkpoint). */
  fork: (parentRunId: string, runId: string) => `fork!${parentRunId}!${runId}`,
  forks: (parentRunId: string) => `fork!${parentRunId}!`,
  /** A session's record, its messages by position, and the runs that committed to it. */
  session: (sessionId: string) => `sess!${sessionId}`,
  sessionMessage: (sessionId: string, index: number) => `smsg!${sessionId}!${pad(index, 10)}`,
  sessionMessages: (sessionId: string) => `smsg!${sessionId}!`,
  sessionCommit: (sessionId: string, runId: string) => `scommit!${sessionId}!${runId}`,
  /** A run's logged events by seq, and the log's head (count, next seq, seqs reserved). */
  event: (runId: string, seq: number) => `ev!${runId}!${pad(seq, 12)}`,
  events: (runId: string) => `ev!${runId}!`,
  eventLogHead: (runId: string) => `evm!${runId}`,
} as const;
