/**
 * `agentchart/level`: the LevelDB checkpoint store. Reserved for the durable-checkpoints issue;
 * it exports nothing yet.
 */
export {};
