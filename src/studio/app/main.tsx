/** The studio's web app: built by scripts/build-studio-app.ts into dist/studio/app/. */
import { render } from 'preact';
import { App } from './app.js';
import './styles.css';

const root = document.getElementById('studio');
if (root !== null) {
  root.textContent = '';
  render(<App />, root);
}
