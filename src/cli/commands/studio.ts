import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { ModelClient } from '../../model/model-client.js';
import { studioHandler } from '../../studio/studio-handler.js';
import { sendJson } from '../../studio/studio-http.js';
import type { CliCommand } from '../cli-command.js';
import { loadConfig } from '../load-config.js';
import { UsageError } from '../usage-error.js';

/** The port the studio listens on unless `--port` says another (0: any free one). */
export const defaultStudioPort = 4600;

const loopbackHosts = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * `studio`: serves the studio over the store's runs until Ctrl-C (SIGINT) or SIGTERM, and prints
 * its URL. It listens on 127.0.0.1 unless `--host` says otherwise.
 */
export const studio: CliCommand = {
  name: 'studio',
  usage: 'studio [--port N] [--host ADDRESS]',
  summary: `serves the studio, a web time-travel debugger of the store's runs,\nand prints its URL (127.0.0.1:${defaultStudioPort} unless told; Ctrl-C stops it)`,
  operands: 0,
  async run({ runtime, options, output }) {
    const port = portOf(options.port);
    const host = options.host ?? '127.0.0.1';
    const config = await loadConfig(options.config);
    const models = [config.model, ...(config.models ?? [])].filter(
      (model): model is ModelClient => model !== undefined,
    );
    const handle = studioHandler(runtime, { models });
    const server = createServer((request, response) => {
      // A page of another site whose name was pointed at 127.0.0.1 (DNS rebinding) names its own host.
      if (loopbackHosts.has(host) && !loopbackHosts.has(hostnameOf(request))) {
        sendJson(response, 403, {
          error: { code: 'FORBIDDEN', message: `The studio on ${host} answers only to that name` },
        });
        return;
      }
      handle(request, response);
    });
    const url = await listen(server, port, host);
    // One line even with --json: a program that started the studio reads its URL from the first line.
    output.out(output.json ? JSON.stringify({ url }) : `agentchart studio: ${url} (Ctrl-C stops it)`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        server.closeAllConnections();
        server.close(() => resolve());
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    return 0;
  },
};

function portOf(value: string | undefined): number {
  if (value === undefined) return defaultStudioPort;
  if (!/^\d+$/.test(value) || Number(value) > 65_535)
    throw new UsageError(`--port must be a port number (0 to 65535), got '${value}'`);
  return Number(value);
}

function hostnameOf(request: IncomingMessage): string {
  const host = request.headers.host ?? '';
  return host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : (host.split(':')[0] ?? '');
}

/** Listens on `host`:`port`; resolves with the URL to open. */
function listen(server: Server, port: number, host: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE' || error.code === 'EADDRNOTAVAIL' || error.code === 'EACCES'
          ? new UsageError(`cannot listen on ${host}:${port} (${error.code}): pass another --port or --host`)
          : error,
      ),
    );
    server.listen(port, host, () => {
      const address = server.address();
      const actual = typeof address === 'object' && address !== null ? address.port : port;
      resolve(`http://${host.includes(':') ? `[${host}]` : host}:${actual}/`);
    });
  });
}
