/** The analysts' side: one authenticated WebSocket per console, carrying sessions and commands. */
import type { WebSocket } from 'ws';
import { parseClientFrame, type RejectedClientFrame, type ToClient } from '../shared/wire/protocol.js';
import { MAX_LINE_LENGTH, lineLengthRefusal } from '../shared/commands/grammar.js';
import type { Logger } from '../node/log.js';
import type { User } from './store.js';
import { SessionError, type ConsolePeer, type SessionManager } from './sessions.js';
import type { Pipeline } from './pipeline.js';
import { send } from './agent-hub.js';
import { describeError } from '../shared/errors.js';

export function acceptConsole(
  ws: WebSocket,
  user: User,
  sessions: SessionManager,
  pipeline: Pipeline,
  log: Logger,
): ConsolePeer {
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
    const parsed = parseClientFrame(data.toString());
    if (!parsed.ok) {
      refuseFrame(parsed);
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
            pipeline.refuse(
              peer,
              null,
              f.line,
              f.line.trim().split(/\s+/)[0] ?? '',
              `no open session ${f.sessionId} on this console (it may have timed out)`,
              f.reqId,
            );
            return;
          }
          pipeline.submit(peer, s, f.line, f.reqId, f.internal === true);
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
  /**
   * An invalid frame is answered on its request id when it has a readable one (the client waits on it),
   * and a command frame is refused like any command: one line, recorded in the command log.
   */
  function refuseFrame(bad: RejectedClientFrame): void {
    const line = bad.line ?? '';
    const message = (bad.t === 'command' && lineLengthRefusal(line)) || bad.error;
    log.warn('console frame refused', { user: user.name, frame: bad.t ?? 'unknown', reason: message });
    if (bad.t === 'command' && bad.reqId !== undefined) {
      const s = bad.sessionId === undefined ? undefined : sessions.get(bad.sessionId);
      // The log keeps the start of an overlong line, not all of it.
      const logged = line.length > MAX_LINE_LENGTH ? `${line.slice(0, MAX_LINE_LENGTH)}…` : line;
      pipeline.refuse(
        peer,
        s && s.peer === peer ? s : null,
        logged,
        line.slice(0, 256).trim().split(/\s+/)[0] ?? '',
        message,
        bad.reqId,
      );
      return;
    }
    peer.send({ t: 'error', reqId: bad.reqId, code: 'bad_frame', message });
  }
  function reportError(e: unknown, reqId: number | undefined): void {
    if (e instanceof SessionError) peer.send({ t: 'error', reqId, code: e.code, message: e.message });
    else {
      log.error('console frame failed', { error: describeError(e) });
      peer.send({ t: 'error', reqId, code: 'internal', message: 'internal error (see the service log)' });
    }
  }
  ws.on('close', () => sessions.closeAllOf(peer, 'console disconnected'));
  ws.on('error', () => ws.terminate());
  return peer;
}
