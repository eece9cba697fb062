import { createRequire as __lrCreateRequire } from 'node:module'; const require = __lrCreateRequire(import.meta.url);

// bench/fake-agents.ts
import { createPrivateKey, sign } from "node:crypto";
import WebSocket from "ws";

// src/shared/protocol.ts
import { z } from "zod";
var MAX_FRAME_BYTES = 1024 * 1024;
var MAX_CHUNK_CHARS = 256 * 1024;
var JOB_WINDOW_BYTES = 1024 * 1024;
var id = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/);
var shortText = z.string().max(4096);
var record = z.custom((v) => typeof v === "object" && v !== null && !Array.isArray(v), "expected a JSON object");
var boundParams = z.record(z.string().max(64), z.union([z.string().max(8192), z.number(), z.boolean()]));
var JOB_STATUSES = ["pending", "running", "completed", "failed", "cancelled", "timed_out", "refused"];
var traceLevel = z.enum(["off", "error", "warn", "info", "debug"]);
var deviceInfo = z.object({
  name: z.string().min(1).max(128),
  hostname: z.string().max(255),
  os: z.string().max(255),
  platform: z.enum(["linux", "darwin", "win32"]),
  agentVersion: z.string().max(64),
  isolated: z.boolean().optional()
});
var toAgent = z.discriminatedUnion("t", [
  z.object({ t: z.literal("challenge"), nonce: z.string().max(128) }),
  z.object({ t: z.literal("welcome"), deviceId: id }),
  z.object({
    t: z.literal("job.start"),
    jobId: id,
    sessionId: id,
    command: z.string().min(1).max(64),
    params: boundParams,
    cwd: z.string().max(4096),
    timeLimitMs: z.number().int().positive()
  }),
  z.object({ t: z.literal("job.cancel"), jobId: id, reason: z.enum(["cancelled", "timed_out", "session_closed"]) }),
  z.object({ t: z.literal("job.ack"), jobId: id, bytes: z.number().int().nonnegative() }),
  z.object({ t: z.literal("trace.level"), sessionId: id, level: traceLevel }),
  z.object({ t: z.literal("error"), message: shortText })
]);
var fromAgent = z.discriminatedUnion("t", [
  z.object({ t: z.literal("hello"), deviceId: id, signature: z.string().max(512), info: deviceInfo }),
  z.object({ t: z.literal("job.records"), jobId: id, records: z.array(record).max(1e4) }),
  z.object({ t: z.literal("job.text"), jobId: id, text: z.string().max(MAX_CHUNK_CHARS) }),
  z.object({
    t: z.literal("job.end"),
    jobId: id,
    status: z.enum(["completed", "failed", "cancelled", "timed_out"]),
    error: shortText.optional(),
    cwd: z.string().max(4096).optional()
  }),
  z.object({ t: z.literal("trace"), sessionId: id, level: traceLevel.exclude(["off"]), message: shortText, time: z.string().max(64) }),
  z.object({ t: z.literal("error"), message: shortText })
]);
var fromClient = z.discriminatedUnion("t", [
  z.object({ t: z.literal("session.open"), reqId: z.number().int(), device: z.string().min(1).max(128) }),
  z.object({ t: z.literal("session.close"), reqId: z.number().int(), sessionId: id }),
  z.object({ t: z.literal("command"), reqId: z.number().int(), sessionId: id, line: z.string().max(8192) }),
  z.object({ t: z.literal("cancel"), commandId: id }),
  /** Ctrl+Z: the command goes on in the background; the client stops receiving its output. */
  z.object({ t: z.literal("detach"), commandId: id })
]);
var sessionInfo = z.object({
  id,
  deviceId: id,
  deviceName: z.string(),
  platform: z.string(),
  createdBy: z.string(),
  startedAt: z.string(),
  cwd: z.string()
});
var toClient = z.discriminatedUnion("t", [
  z.object({ t: z.literal("hello"), user: z.string(), role: z.string() }),
  z.object({ t: z.literal("session.opened"), reqId: z.number().int(), session: sessionInfo }),
  z.object({ t: z.literal("session.closed"), sessionId: id, reason: shortText }),
  z.object({ t: z.literal("error"), reqId: z.number().int().optional(), code: z.string().max(64), message: shortText }),
  z.object({
    t: z.literal("command.started"),
    reqId: z.number().int().optional(),
    commandId: id,
    name: z.string(),
    background: z.boolean(),
    output: z.enum(["json", "table"]).optional(),
    redirect: z.string().optional(),
    fields: z.array(z.string()).optional(),
    tableFields: z.array(z.string()).optional()
  }),
  z.object({ t: z.literal("command.records"), commandId: id, records: z.array(record) }),
  z.object({ t: z.literal("command.text"), commandId: id, text: z.string() }),
  z.object({
    t: z.literal("command.end"),
    commandId: id,
    status: z.enum(JOB_STATUSES),
    error: shortText.optional(),
    durationMs: z.number(),
    cwd: z.string().optional(),
    background: z.boolean().optional()
  }),
  z.object({ t: z.literal("trace"), sessionId: id, level: z.string(), message: shortText, time: z.string() }),
  z.object({ t: z.literal("device.state"), deviceId: id, online: z.boolean() })
]);
var enrollRequest = z.object({
  token: z.string().min(10).max(256),
  publicKey: z.string().min(10).max(4096),
  info: deviceInfo
});
function agentAuthPayload(nonce, deviceId) {
  return `lr-agent-auth:${nonce}:${deviceId}`;
}
var DATA_CHUNK_BYTES = 256 * 1024;
var TRANSFER_WINDOW_BYTES = 8 * 1024 * 1024;

// src/node/ws-options.ts
var unmaskedFrames = { generateMask: (mask) => void mask.fill(0) };

// bench/fake-agents.ts
var chunks = [];
process.stdin.on("data", (d) => chunks.push(d));
process.stdin.on("end", () => void main(JSON.parse(Buffer.concat(chunks).toString())));
async function main(input) {
  let welcomed = 0;
  const sockets = [];
  const connectOne = (d) => new Promise((resolve) => {
    const key = createPrivateKey(d.key);
    const ws = new WebSocket(`${input.url}/api/v1/agent`, { ca: input.ca, ...unmaskedFrames });
    sockets.push(ws);
    ws.on("message", (data) => {
      const f = JSON.parse(data.toString());
      if (f.t === "challenge") {
        const signature = sign(null, Buffer.from(agentAuthPayload(f.nonce, d.id)), key).toString("base64");
        ws.send(JSON.stringify({ t: "hello", deviceId: d.id, signature, info: { name: `fake-${d.id}`, hostname: "fake", os: "Linux (bench)", platform: "linux", agentVersion: "bench" } }));
      } else if (f.t === "welcome") {
        welcomed++;
        resolve();
      }
    });
    ws.on("error", () => resolve());
  });
  const wave = 100;
  for (let i = 0; i < input.devices.length; i += wave) {
    await Promise.all(input.devices.slice(i, i + wave).map(connectOne));
    process.stdout.write(`connected ${welcomed}
`);
  }
  process.stdout.write(`done ${welcomed}
`);
  process.on("SIGTERM", () => {
    for (const s of sockets) s.terminate();
    process.exit(0);
  });
}
