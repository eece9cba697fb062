/**
 * The service's network front: one HTTPS server on one port, with the agents' and the consoles' WebSocket
 * endpoints upgraded from it. Made early in start-up (so that, released in reverse, it closes after the
 * sessions and the agent hub, and before the database), given its handlers and listening last.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { MAX_FRAME_BYTES } from '../shared/wire/protocol.js';
import type { Disposable } from '../shared/lifecycle.js';

export interface ServiceHandlers {
  request(req: IncomingMessage, res: ServerResponse): Promise<void>;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

export class ServiceSockets implements Disposable {
  readonly server: Server;
  // One agent message per event loop turn: a TLS socket takes one write per turn, so without it the
  // records of a burst read from an agent reached the console only after the whole burst was handled.
  readonly agentWss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_FRAME_BYTES,
    allowSynchronousEvents: false,
  });
  readonly consoleWss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });

  constructor(tls: { cert: Buffer; key: Buffer }) {
    this.server = createServer({ cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2' });
  }

  /** Serves requests and upgrades with `handlers`, then listens; answers the port it listens on. */
  async listen(host: string, port: number, handlers: ServiceHandlers): Promise<number> {
    this.server.on('request', (req, res) => void handlers.request(req, res));
    this.server.on('upgrade', (req, socket, head) => handlers.upgrade(req, socket, head));
    this.server.on('clientError', (_e, socket: Socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve());
    });
    return (this.server.address() as AddressInfo).port;
  }

  async dispose(): Promise<void> {
    for (const ws of this.consoleWss.clients) ws.close(1001, 'service shutting down');
    await new Promise<void>((r) => this.server.close(() => r()));
    this.server.closeAllConnections();
    // Sockets still closing write to the store from their close handlers (sessions ended, jobs failed):
    // let them finish before the database closes (matters when the service runs in-process).
    for (const ws of [...this.agentWss.clients, ...this.consoleWss.clients]) ws.terminate();
    for (let i = 0; i < 50 && this.agentWss.clients.size + this.consoleWss.clients.size > 0; i++)
      await new Promise((r) => setTimeout(r, 20));
  }
}
