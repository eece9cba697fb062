/** The analysts' side: one authenticated WebSocket per console, carrying sessions and commands. */
import type { WebSocket } from 'ws';
import { fromClient, parseFrame, type ToClient } from '../shared/protocol.js';
import type { Logger } from '../node/log.js';
import type { User } from './store.js';
import { SessionError, type ConsolePeer, type SessionManager } from './sessions.js';
import type { Pipeline } from './pipeline.js';
import { send } from './agent-hub.js';

export function acceptConsole(ws: WebSocket, user: User, sessions: SessionManager, pipeline: Pipeline, log: Logger): ConsolePeer {
  const peer: ConsolePeer = {
    user,
    send: (frame: ToClient) => send(ws, frame),
    sendRaw: (json: string) => {
      if (ws.readyState === ws.OPEN) ws.send(json);
    },
    sendBinary: (frame: Buffer) => {
      if (ws.readyState === ws.OPEN) ws.send(frame, { binary: true });
    },
    bufferedAmount: () => ws.bufferedAmount,
  };
  send(ws, { t: 'hello', user: user.name, role: user.role });

  ws.on('message', (data, isBinary) => {
    if (isBinary) {
      peer.send({ t: 'error', code: 'bad_frame', message: 'binary frames are not accepted' });
      return;
    }
    const parsed = parseFrame(fromClient, data.toString());
    if (!parsed.ok) {
      peer.send({ t: 'error', code: 'bad_frame', message: parsed.error });
      return;
    }
    const f = parsed.value;
    try {
      switch (f.t) {
        case 'session.open': {
          // Asynchronous: the session ledger may be shared between nodes.
          sessions.open(user, f.device, peer).then(
            (s) => {
              log.info('session opened', { sessionId: s.id, deviceId: s.device.id, user: user.name });
              peer.send({ t: 'session.opened', reqId: f.reqId, session: s.info() });
            },
            (e: unknown) => reportError(e, f.reqId),
          );
          return;
        }
        case 'session.close': {
          const s = sessions.get(f.sessionId);
          if (!s || s.peer !== peer) throw new SessionError(`no session ${f.sessionId} on this console`, 'not_found');
          sessions.close(s, `closed by ${user.name}`);
          return;
        }
        case 'command': {
          const s = sessions.get(f.sessionId);
          if (!s || s.peer !== peer) {
            pipeline.refuse(peer, null, f.line, f.line.trim().split(/\s+/)[0] ?? '', `no open session ${f.sessionId} on this console (it may have timed out)`, f.reqId);
            return;
          }
          pipeline.submit(peer, s, f.line, f.reqId);
          return;
        }
        case 'cancel':
          pipeline.cancel(peer, f.commandId);
          return;
        case 'detach':
          pipeline.detach(peer, f.commandId);
          return;
      }
    } catch (e) {
      reportError(e, 'reqId' in f ? f.reqId : undefined);
    }
  });
  function reportError(e: unknown, reqId: number | undefined): void {
    if (e instanceof SessionError) peer.send({ t: 'error', reqId, code: e.code, message: e.message });
    else {
      log.error('console frame failed', { error: (e as Error).message });
      peer.send({ t: 'error', reqId, code: 'internal', message: 'internal error (see the service log)' });
    }
  }
  ws.on('close', () => sessions.closeAllOf(peer, 'console disconnected'));
  ws.on('error', () => ws.terminate());
  return peer;
}
