// Generates build/icon.png (512x512, the placeholder app icon): node build/generate-icon.mjs build/icon.png
// Pure Node (zlib + a hand-written PNG encoder): no image tools, no downloads.
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';
const N = 512;
const px = Buffer.alloc(N * (N * 4 + 1));
const clamp = (v) => Math.max(0, Math.min(1, v));
function segDist(x, y, ax, ay, bx, by) {
  const dx = bx - ax, dy = by - ay;
  const t = clamp(((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy));
  return Math.hypot(x - (ax + t * dx), y - (ay + t * dy));
}
function roundRectDist(x, y, x0, y0, x1, y1, r) {
  const qx = Math.max(x0 + r - x, 0, x - (x1 - r)), qy = Math.max(y0 + r - y, 0, y - (y1 - r));
  const inside = x >= x0 && x <= x1 && y >= y0 && y <= y1;
  const d = Math.hypot(qx, qy) - r;
  return inside || d < 0 ? d : d;
}
for (let y = 0; y < N; y++) {
  px[y * (N * 4 + 1)] = 0;
  for (let x = 0; x < N; x++) {
    const cx = x + 0.5, cy = y + 0.5;
    const t = (cx + cy) / (2 * N);
    let r = 31 + (42 - 31) * t, g = 111 + (157 - 111) * t, b = 102 + (143 - 102) * t;
    const bgA = clamp(0.5 - roundRectDist(cx, cy, 16, 16, 496, 496, 96));
    const w = 26;
    const chevron = Math.min(segDist(cx, cy, 150, 160, 260, 256), segDist(cx, cy, 260, 256, 150, 352));
    const under = segDist(cx, cy, 290, 356, 380, 356);
    const fg = clamp(0.5 - (Math.min(chevron, under) - w));
    r = r * (1 - fg) + 234 * fg; g = g * (1 - fg) + 255 * fg; b = b * (1 - fg) + 249 * fg;
    const o = y * (N * 4 + 1) + 1 + x * 4;
    px[o] = Math.round(r); px[o + 1] = Math.round(g); px[o + 2] = Math.round(b); px[o + 3] = Math.round(255 * bgA);
  }
}
const crcTable = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
const crc = (buf) => { let c = 0xffffffff; for (const byte of buf) c = crcTable[(c ^ byte) & 0xff] ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
const chunk = (type, data) => { const len = Buffer.alloc(4); len.writeUInt32BE(data.length); const td = Buffer.concat([Buffer.from(type), data]); const c = Buffer.alloc(4); c.writeUInt32BE(crc(td)); return Buffer.concat([len, td, c]); };
const ihdr = Buffer.alloc(13); ihdr.writeUInt32BE(N, 0); ihdr.writeUInt32BE(N, 4); ihdr[8] = 8; ihdr[9] = 6;
writeFileSync(process.argv[2], Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(px, { level: 9 })), chunk('IEND', Buffer.alloc(0))]));
