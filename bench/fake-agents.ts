/**
 * Many agents in one process, speaking the real agent protocol (TLS WebSocket, challenge signed with each
 * device's Ed25519 key, hello with device info, pongs), then idle. Used by the capacity and batch benchmarks.
 * Input on stdin: JSON { url, ca, devices: [{ id, key }], answer? }. Prints `connected N` as agents are welcomed.
 * With `answer` ({ delayMs }), each agent answers every job.start after delayMs with one record describing
 * itself (this process's pid) and job.end completed: the service's side of a command (signature, session,
 * command log, records) is the real one; the agent's work is not (no command is run).
 */
import { createPrivateKey, sign } from 'node:crypto';
import WebSocket from 'ws';
import { agentAuthPayload } from '../src/shared/wire/protocol.js';
import { unmaskedFrames } from '../src/node/ws-options.js';

interface Input {
  url: string;
  ca: string;
  devices: { id: string; key: string }[];
  answer?: { delayMs: number };
}

const chunks: Buffer[] = [];
process.stdin.on('data', (d: Buffer) => chunks.push(d));
process.stdin.on('end', () => void main(JSON.parse(Buffer.concat(chunks).toString()) as Input));

async function main(input: Input): Promise<void> {
  let welcomed = 0;
  const sockets: WebSocket[] = [];
  const connectOne = (d: { id: string; key: string }) =>
    new Promise<void>((resolve) => {
      const key = createPrivateKey(d.key);
      const ws = new WebSocket(`${input.url}/api/v1/agent`, { ca: input.ca, ...unmaskedFrames });
      sockets.push(ws);
      ws.on('message', (data) => {
        const f = JSON.parse(data.toString()) as { t: string; nonce?: string; jobId?: string; command?: string };
        if (f.t === 'job.start' && input.answer) {
          const jobId = f.jobId as string;
          setTimeout(() => {
            ws.send(
              JSON.stringify({
                t: 'job.records',
                jobId,
                records: [{ pid: process.pid, name: 'fake-agents', command: f.command }],
              }),
            );
            ws.send(JSON.stringify({ t: 'job.end', jobId, status: 'completed' }));
          }, input.answer.delayMs);
          return;
        }
        if (f.t === 'challenge') {
          const signature = sign(null, Buffer.from(agentAuthPayload(f.nonce as string, d.id)), key).toString('base64');
          ws.send(
            JSON.stringify({
              t: 'hello',
              deviceId: d.id,
              signature,
              info: {
                name: `fake-${d.id}`,
                hostname: 'fake',
                os: 'Linux (bench)',
                platform: 'linux',
                agentVersion: 'bench',
              },
            }),
          );
        } else if (f.t === 'welcome') {
          welcomed++;
          resolve();
        }
      });
      ws.on('error', () => resolve());
    });
  // Connect in waves so the handshakes do not all land at once.
  const wave = 100;
  for (let i = 0; i < input.devices.length; i += wave) {
    await Promise.all(input.devices.slice(i, i + wave).map(connectOne));
    process.stdout.write(`connected ${welcomed}\n`);
  }
  process.stdout.write(`done ${welcomed}\n`);
  process.on('SIGTERM', () => {
    for (const s of sockets) s.terminate();
    process.exit(0);
  });
}
