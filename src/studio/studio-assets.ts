import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/**
 * Where the built web app is: `dist/studio/app/` of the package. This module sits two folders
 * below the package's root both as source (`src/studio/`) and as built (`dist/studio/`), so the
 * same path finds the app from either.
 */
export const studioAppFolder = fileURLToPath(new URL('../../dist/studio/app/', import.meta.url));

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** The files the app is made of; nothing else is served from its folder. */
const appFiles = new Set(['index.html', 'app.js', 'app.css']);

/** A file of the built app, or undefined when there is no such file (or the app was not built). */
export async function readAppFile(name: string): Promise<{ body: Buffer; contentType: string } | undefined> {
  if (!appFiles.has(name)) return undefined;
  try {
    const body = await readFile(`${studioAppFolder}${name}`);
    return {
      body,
      contentType: contentTypes[name.slice(name.lastIndexOf('.'))] ?? 'application/octet-stream',
    };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
