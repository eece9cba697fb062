/**
 * WebSocket client options shared by the agent and the analyst client.
 * Frames are sent with a zero mask, which `ws` recognises and skips: masking exists to stop a hostile
 * page in a *browser* from writing predictable bytes through a caching proxy (RFC 6455 §10.3). Our
 * clients are not browsers and every connection is TLS end to end, so the XOR over every byte of a
 * 3 GB transfer buys nothing and costs a core.
 */
export const unmaskedFrames = { generateMask: (mask: Buffer): void => void mask.fill(0) } as const;
