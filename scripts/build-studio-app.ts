/**
 * Builds the studio's web app (src/studio/app/) into dist/studio/app/: one script, one stylesheet
 * and the page, bundled by esbuild with Preact, no CDN. `npm run build` runs it, and so does the
 * test setup (it takes well under a second). Each file is written beside its place and renamed
 * over it, so that a server reading the folder while a build runs never sees half a file.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const repo = fileURLToPath(new URL('..', import.meta.url));
const appSource = join(repo, 'src/studio/app');
/** Where the handler finds the app (see src/studio/studio-assets.ts). */
export const appOutput = join(repo, 'dist/studio/app');

/** Builds the app; resolves with the files written. */
export async function buildStudioApp(outdir = appOutput): Promise<string[]> {
  const result = await build({
    entryPoints: { app: join(appSource, 'main.tsx') },
    bundle: true,
    write: false,
    outdir,
    format: 'esm',
    target: 'es2022',
    platform: 'browser',
    minify: true,
    legalComments: 'none',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    tsconfig: join(appSource, 'tsconfig.json'),
    logLevel: 'warning',
  });
  const files = [
    ...result.outputFiles.map((file) => ({ path: file.path, contents: file.contents })),
    { path: join(outdir, 'index.html'), contents: readFileSync(join(appSource, 'index.html')) },
  ];
  mkdirSync(outdir, { recursive: true });
  for (const file of files) {
    const temporary = join(outdir, `.${basename(file.path)}.${process.pid}.tmp`);
    writeFileSync(temporary, file.contents);
    renameSync(temporary, file.path);
  }
  return files.map((file) => file.path);
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = performance.now();
  const files = await buildStudioApp();
  console.log(`studio app: ${files.length} files in ${Math.round(performance.now() - started)} ms`);
}
