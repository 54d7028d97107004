import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { memoryStore } from 'agentchart';
import { levelStore } from 'agentchart/level';
import { checkpointStoreContract } from 'agentchart/testing';
import { afterEach, beforeEach, describe, it } from 'vitest';

const api = { describe, it, beforeEach, afterEach };

checkpointStoreContract('memoryStore', api, async () => memoryStore());
checkpointStoreContract('levelStore', api, () =>
  levelStore({ path: mkdtempSync(join(tmpdir(), 'agentchart-store-')) }),
);
