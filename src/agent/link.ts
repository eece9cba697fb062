/**
 * The agent's connection to the service: connects out over TLS (pinned CA), proves its identity by
 * signing the service's challenge with its Ed25519 key, serves jobs, and reconnects forever with a
 * capped exponential backoff (so a restarted service sees it again within seconds).
 */
import { createPrivateKey, sign } from 'node:crypto';
import WebSocket from 'ws';
import { MAX_FRAME_BYTES, agentAuthPayload, parseFrame, toAgent, type FromAgent } from '../shared/protocol.js';
import { wssBase } from '../node/profile.js';
import { unmaskedFrames } from '../node/ws-options.js';
import type { Logger } from '../node/log.js';
import type { AgentState } from './config.js';
import { deviceInfo } from './device-info.js';
import type { AgentSender, JobRunner } from './jobs.js';

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 4_000;

export interface AgentLinkHandle {
  stop(): Promise<void>;
  connected(): boolean;
}

export function runAgentLink(state: AgentState, runner: JobRunner, log: Logger, isIsolated: () => boolean = () => false): AgentLinkHandle {
  const key = createPrivateKey(state.privateKey);
  let ws: WebSocket | null = null;
  let stopped = false;
  let online = false;
  let backoff = BACKOFF_MIN_MS;
  let retry: NodeJS.Timeout | undefined;

  const connect = () => {
    if (stopped) return;
    const socket = new WebSocket(`${wssBase(state.url)}/api/v1/agent`, { ca: state.ca, maxPayload: MAX_FRAME_BYTES, handshakeTimeout: 10_000, ...unmaskedFrames });
    ws = socket;
    const send = (f: FromAgent) => {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(f));
    };
    const sender: AgentSender = {
      frame: send,
      raw: (json) => {
        if (socket.readyState === socket.OPEN) socket.send(json);
      },
      data: (header, payload) => {
        if (socket.readyState === socket.OPEN) socket.send(Buffer.concat([header, payload]), { binary: true });
      },
    };
    socket.on('message', (data) => {
      const parsed = parseFrame(toAgent, data.toString());
      if (!parsed.ok) {
        log.warn('bad frame from service', { error: parsed.error });
        send({ t: 'error', message: parsed.error });
        return;
      }
      const f = parsed.value;
      if (f.t === 'challenge') {
        const signature = sign(null, Buffer.from(agentAuthPayload(f.nonce, state.deviceId)), key).toString('base64');
        send({ t: 'hello', deviceId: state.deviceId, signature, info: deviceInfo(state.name, isIsolated()) });
      } else if (f.t === 'welcome') {
        online = true;
        backoff = BACKOFF_MIN_MS;
        runner.setSender(sender);
        log.info('connected to the service', { url: state.url, deviceId: state.deviceId });
      } else if (f.t === 'error') {
        log.warn('service reported an error', { message: f.message });
      } else if (online) {
        runner.handle(f);
      }
    });
    socket.on('close', (code, reason) => {
      if (online) log.warn('disconnected from the service', { code, reason: reason.toString() });
      online = false;
      runner.linkLost();
      if (ws === socket) ws = null;
      if (stopped) return;
      const delay = backoff + Math.floor(Math.random() * 250);
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
      retry = setTimeout(connect, delay);
    });
    socket.on('error', (e) => {
      log.debug('connection error', { error: e.message });
    });
  };
  connect();

  return {
    connected: () => online,
    stop: async () => {
      stopped = true;
      clearTimeout(retry);
      runner.linkLost();
      const s = ws;
      if (s && s.readyState !== s.CLOSED) {
        await new Promise<void>((r) => {
          s.once('close', () => r());
          s.close(1000, 'agent stopping');
          setTimeout(() => {
            s.terminate();
            r();
          }, 2000).unref();
        });
      }
    },
  };
}
