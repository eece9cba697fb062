/**
 * The agent's connection to the service: connects out over TLS (pinned CA), proves its identity by
 * signing the service's challenge with its Ed25519 key, serves jobs, and reconnects forever.
 * In a cluster the agent knows several nodes and rotates over them: when its node dies (or a node cannot
 * be reached) the next attempt goes to the next node at once, so its devices are back online within
 * seconds; the capped exponential backoff only applies once a whole round of nodes failed (the service
 * is down or unreachable), so a restarted single node still sees it again within seconds without being
 * hammered.
 */
import { createPrivateKey, sign } from 'node:crypto';
import WebSocket from 'ws';
import {
  MAX_FRAME_BYTES,
  agentAuthPayload,
  parseFrame,
  toAgent,
  type FromAgent,
  type ToAgent,
} from '../shared/wire/protocol.js';
import { serviceUrls, wssBase } from '../node/profile.js';
import { unmaskedFrames } from '../node/ws-options.js';
import type { Logger } from '../node/log.js';
import type { AgentState } from './config.js';
import { deviceInfo } from './device-info.js';
import type { AgentSender, JobRunner } from './jobs.js';

const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 4_000;
/** Pause before trying the next node: short, jittered so that a dead node's agents do not arrive in one burst. */
const NEXT_NODE_MIN_MS = 100;
const NEXT_NODE_JITTER_MS = 200;
/**
 * The service pings every agent every 15 s (agent-hub.ts). Silence for three intervals means the node
 * is gone without closing the connection (host frozen, cable pulled): the link is dropped so that the
 * agent moves to another node instead of waiting for TCP to give up, which takes many minutes.
 */
const SILENCE_LIMIT_MS = 45_000;

export interface AgentLinkHandle {
  stop(): Promise<void>;
  connected(): boolean;
  /** The service URL the agent is online with now, null while it is not. */
  currentUrl(): string | null;
}

/**
 * The service node the link is online with, null while it is not: written by the link, read by whoever needs
 * it (commands download from that node). Made before the link, so that what the link serves can be given it.
 */
export class CurrentNode {
  url: string | null = null;
}

/** Self-update's part of the link (update/updater.ts): told when the link is up or down, and given update offers. */
export interface LinkUpdateHooks {
  online(send: (f: FromAgent) => void): void;
  offline(): void;
  offer(f: Extract<ToAgent, { t: 'update.offer' }>, send: (f: FromAgent) => void): void;
}

export function runAgentLink(
  state: AgentState,
  runner: JobRunner,
  log: Logger,
  isIsolated: () => boolean = () => false,
  update?: LinkUpdateHooks,
  node: CurrentNode = new CurrentNode(),
): AgentLinkHandle {
  const key = createPrivateKey(state.privateKey);
  const urls = spreadOrder(serviceUrls(state), state.deviceId);
  let ws: WebSocket | null = null;
  let stopped = false;
  let online = false;
  /** The node the next attempt goes to. */
  let next = 0;
  /** Attempts that failed since the agent was last online or since the last backoff: a full round is urls.length. */
  let failedInRound = 0;
  let backoff = BACKOFF_MIN_MS;
  let retry: NodeJS.Timeout | undefined;
  let watchdog: NodeJS.Timeout | undefined;

  const connect = () => {
    if (stopped) return;
    const url = urls[next % urls.length] ?? state.url;
    next = (next + 1) % urls.length;
    const socket = new WebSocket(`${wssBase(url)}/api/v1/agent`, {
      ca: state.ca,
      maxPayload: MAX_FRAME_BYTES,
      handshakeTimeout: 10_000,
      ...unmaskedFrames,
    });
    ws = socket;
    const heard = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(() => {
        log.warn('no word from the service node: dropping the connection', { url, silentMs: SILENCE_LIMIT_MS });
        socket.terminate();
      }, SILENCE_LIMIT_MS);
      watchdog.unref();
    };
    socket.on('open', heard);
    socket.on('ping', heard);
    const send = (f: FromAgent) => {
      if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(f));
    };
    const sender: AgentSender = {
      frame: send,
      raw: (json) => {
        if (socket.readyState === socket.OPEN) socket.send(json);
      },
      data: (frame) => {
        if (socket.readyState === socket.OPEN) socket.send(frame, { binary: true });
      },
    };
    socket.on('message', (data) => {
      heard();
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
        node.url = url;
        failedInRound = 0;
        backoff = BACKOFF_MIN_MS;
        runner.setSender(sender);
        log.info('connected to the service', { url, deviceId: state.deviceId });
        update?.online(send);
      } else if (f.t === 'update.offer') {
        if (online) update?.offer(f, send);
      } else if (f.t === 'error') {
        log.warn('service reported an error', { message: f.message });
      } else if (online) {
        runner.handle(f);
      }
    });
    socket.on('close', (code, reason) => {
      clearTimeout(watchdog);
      const wasOnline = online;
      if (wasOnline) log.warn('disconnected from the service', { url, code, reason: reason.toString() });
      online = false;
      node.url = null;
      runner.linkLost();
      update?.offline();
      if (ws === socket) ws = null;
      if (stopped) return;
      // A drop after being online starts a fresh round at the next node; a failed attempt counts towards the round.
      failedInRound = wasOnline ? 0 : failedInRound + 1;
      let delay = NEXT_NODE_MIN_MS + Math.floor(Math.random() * NEXT_NODE_JITTER_MS);
      if (failedInRound >= urls.length) {
        failedInRound = 0;
        delay = backoff + Math.floor(Math.random() * 250);
        backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
      }
      retry = setTimeout(connect, delay);
    });
    socket.on('error', (e) => {
      log.debug('connection error', { url, error: e.message });
    });
  };
  connect();

  return {
    connected: () => online,
    currentUrl: () => node.url,
    stop: async () => {
      stopped = true;
      clearTimeout(retry);
      clearTimeout(watchdog);
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

/**
 * The nodes in the order this agent tries them: the bundle's first node first (where it was enrolled), the
 * others rotated by a hash of the device id, so that when a node dies its agents spread over the other
 * nodes instead of all landing on the next one in the list.
 */
export function spreadOrder(urls: string[], deviceId: string): string[] {
  if (urls.length <= 2) return urls;
  const [first, ...rest] = urls as [string, ...string[]];
  let h = 0;
  for (let i = 0; i < deviceId.length; i++) h = (h * 31 + deviceId.charCodeAt(i)) >>> 0;
  const k = h % rest.length;
  return [first, ...rest.slice(k), ...rest.slice(0, k)];
}
