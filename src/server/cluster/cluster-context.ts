/**
 * What every cluster component gets from `lr-server start --nats`: this node's NATS connection
 * and JetStream handles, the node's stable id, and how many replicas shared buckets and streams get.
 * Components never open connections of their own: one connection per node, closed by the node.
 */
import { jetstream, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Kvm, type KV, type KvOptions } from '@nats-io/kv';
import type { Logger } from '../../node/log.js';
import { DropLog, type ClusterMac } from './cluster-key.js';
import { describeError } from '../../shared/errors.js';

export interface ClusterContext {
  nc: NatsConnection;
  js: JetStreamClient;
  jsm: JetStreamManager;
  /** This node's id (DATA/node-id, made once): stable across restarts, unique in the cluster. */
  nodeId: string;
  /** Replicas of every shared bucket and stream: 3 when the NATS cluster has 3 servers or more, else 1. */
  replicas: number;
  log: Logger;
  /** The cluster key's MAC: every entry written is sealed with it, every entry read is checked (cluster-key.ts). */
  mac: ClusterMac;
  /** Where refused entries are reported (rate-limited). */
  drops: DropLog;
}

/** Node ids appear in NATS subjects and KV keys: letters, digits, - and _ only. */
export const NODE_ID = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * How a node authenticates the NATS servers and itself. Everything the nodes share crosses NATS (hashed
 * tokens, devices' keys, command output): outside a private loopback, use TLS with a pinned CA, and a token
 * or a client certificate the servers require.
 */
export interface NatsSecurity {
  /** PEM of the CA that signed the NATS servers' certificates (the only one trusted); turns TLS on. */
  ca?: string | undefined;
  /** Client certificate and key (PEM), for servers that verify clients (mutual TLS). */
  cert?: string | undefined;
  key?: string | undefined;
  /** The servers' authorization token. */
  token?: string | undefined;
}

/**
 * Connects to NATS (any of `urls`; the client fails over between them) and checks JetStream answers.
 * Throws one line when no server answers or JetStream is off.
 */
export async function connectCluster(
  urls: string[],
  nodeId: string,
  log: Logger,
  mac: ClusterMac,
  opts: { replicas?: number | undefined; name?: string; security?: NatsSecurity | undefined } = {},
): Promise<ClusterContext> {
  if (!NODE_ID.test(nodeId)) throw new Error(`invalid node id ${JSON.stringify(nodeId)} (letters, digits, - and _)`);
  const sec = opts.security ?? {};
  let nc: NatsConnection;
  try {
    // Reconnect forever: a NATS server restarting must not take the service node down with it.
    nc = await connect({
      servers: urls,
      name: opts.name ?? `lr-server ${nodeId}`,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      timeout: 5_000,
      ...(sec.ca ? { tls: { ca: sec.ca, ...(sec.cert && sec.key ? { cert: sec.cert, key: sec.key } : {}) } } : {}),
      ...(sec.token ? { token: sec.token } : {}),
    });
  } catch (e) {
    throw new Error(`cannot reach NATS at ${urls.join(',')}: ${describeError(e)}`, { cause: e });
  }
  const js = jetstream(nc, { timeout: 10_000 });
  let jsm: JetStreamManager;
  try {
    jsm = await js.jetstreamManager();
  } catch (e) {
    await nc.close().catch(() => undefined);
    throw new Error(`NATS at ${urls.join(',')} has no JetStream (start nats-server with -js): ${describeError(e)}`, {
      cause: e,
    });
  }
  const replicas = opts.replicas ?? ((await clusterSize(nc)) >= 3 ? 3 : 1);
  return { nc, js, jsm, nodeId, replicas, log, mac, drops: new DropLog(log) };
}

/** Servers in the NATS cluster this connection reached (1 for a lone server). */
async function clusterSize(nc: NatsConnection): Promise<number> {
  const info = nc.info as { connect_urls?: string[] } | undefined;
  // connect_urls lists the cluster's other client URLs as the server advertises them (plus itself).
  return Math.max(1, info?.connect_urls?.length ?? 1);
}

/**
 * Opens a KV bucket of the cluster, creating it with `opts` if it does not exist yet. Several nodes starting
 * at once race to create it: the losers open what the winner made (with the winner's settings: a bucket's
 * TTL or replicas are the first node's, whatever later nodes were told).
 */
export async function openBucket(ctx: Pick<ClusterContext, 'js'>, name: string, opts: Partial<KvOptions>): Promise<KV> {
  const kvm = new Kvm(ctx.js);
  try {
    return await kvm.create(name, opts);
  } catch {
    return await kvm.open(name, opts.allow_direct === undefined ? {} : { allow_direct: opts.allow_direct });
  }
}
