import { randomUUID } from 'node:crypto';
import { rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { AgentchartError } from '../../agentchart-error.js';
import type { CheckpointEnvelope } from '../../persistence/checkpoint-envelope.js';

/**
 * Writes a checkpoint, self-contained, as JSON to `path`: a file, or a folder (one that exists, or
 * a path that ends with a separator) to write `ID.json` in. Resolves with the file's absolute path.
 * A missing folder is `INVALID_ARGUMENT`. The file appears whole or not at all: it is written next
 * to its target as `.NAME.PID-RANDOM.partial` and then renamed, and a failure removes the partial
 * file, so nothing is ever left outside the target's folder.
 */
export async function exportCheckpoint(envelope: CheckpointEnvelope, path: string): Promise<string> {
  const target = await targetOf(envelope.id, path);
  const partial = join(
    dirname(target),
    `.${basename(target)}.${process.pid}-${randomUUID().slice(0, 8)}.partial`,
  );
  try {
    await writeFile(partial, `${JSON.stringify(envelope, null, 2)}\n`);
    await rename(partial, target);
  } catch (error) {
    await rm(partial, { force: true });
    throw error;
  }
  return target;
}

/** The file an export writes: `path` itself, or `ID.json` in it when it names a folder. */
async function targetOf(checkpointId: string, path: string): Promise<string> {
  const resolved = resolve(path);
  const namesFolder = path.endsWith('/') || path.endsWith(sep);
  if (namesFolder || (await isFolder(resolved))) {
    if (!(await isFolder(resolved))) throw noFolder(path, resolved);
    return join(resolved, `${checkpointId}.json`);
  }
  if (!(await isFolder(dirname(resolved)))) throw noFolder(path, dirname(resolved));
  return resolved;
}

const isFolder = async (path: string) => (await stat(path).catch(() => undefined))?.isDirectory() === true;

const noFolder = (path: string, folder: string) =>
  new AgentchartError({
    code: 'INVALID_ARGUMENT',
    message: `Cannot export to '${path}': no folder '${folder}'`,
    details: { path, folder },
  });
