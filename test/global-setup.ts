import { buildStudioApp } from '../scripts/build-studio-app.js';

/**
 * Builds the studio's web app before the tests (well under a second), so that `npm test` on a
 * clean clone serves the app the source describes, without a build step of its own.
 */
export default async function setup(): Promise<void> {
  await buildStudioApp();
}
