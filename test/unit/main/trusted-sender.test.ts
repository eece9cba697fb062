import { describe, expect, it } from 'vitest';
import { originOf, TrustedSenders, type FrameLike } from '../../../src/main/ipc/trusted-sender.js';

const mainFrame = (url: string): FrameLike => ({ url, parent: null });

describe('originOf', () => {
  it('keeps scheme, host and port of hierarchical URLs, including custom schemes', () => {
    expect(originOf('lr-app://workstation/index.html')).toBe('lr-app://workstation');
    expect(originOf('http://127.0.0.1:5173/src/main.tsx')).toBe('http://127.0.0.1:5173');
    expect(originOf('HTTP://LOCALHOST:80/')).toBe('http://localhost');
  });

  it('has no origin for opaque or broken URLs', () => {
    expect(originOf('about:blank')).toBeUndefined();
    expect(originOf('data:text/html,hi')).toBeUndefined();
    expect(originOf('file:///etc/passwd')).toBeUndefined();
    expect(originOf('not a url')).toBeUndefined();
  });
});

describe('TrustedSenders', () => {
  const senders = new TrustedSenders('lr-app://workstation');
  senders.add(7);

  it('trusts the main frame of a registered WebContents showing our origin', () => {
    expect(senders.isTrusted({ sender: { id: 7 }, senderFrame: mainFrame('lr-app://workstation/index.html') })).toBe(
      true,
    );
  });

  it('refuses unregistered WebContents, sub-frames, missing frames and other origins', () => {
    expect(senders.isTrusted({ sender: { id: 8 }, senderFrame: mainFrame('lr-app://workstation/index.html') })).toBe(
      false,
    );
    const iframe: FrameLike = {
      url: 'lr-app://workstation/index.html',
      parent: mainFrame('lr-app://workstation/index.html'),
    };
    expect(senders.isTrusted({ sender: { id: 7 }, senderFrame: iframe })).toBe(false);
    expect(senders.isTrusted({ sender: { id: 7 }, senderFrame: null })).toBe(false);
    expect(senders.isTrusted({ sender: { id: 7 }, senderFrame: mainFrame('https://evil.example/') })).toBe(false);
    expect(senders.isTrusted({ sender: { id: 7 }, senderFrame: mainFrame('lr-app://workstation.evil/') })).toBe(false);
    expect(senders.isTrusted({ sender: { id: 7 }, senderFrame: mainFrame('file:///index.html') })).toBe(false);
  });

  it('stops trusting a WebContents once removed', () => {
    const local = new TrustedSenders('lr-app://workstation');
    local.add(1);
    local.remove(1);
    expect(local.isTrusted({ sender: { id: 1 }, senderFrame: mainFrame('lr-app://workstation/') })).toBe(false);
  });

  it('rejects an app origin that is not one', () => {
    expect(() => new TrustedSenders('about:blank')).toThrow('not an origin');
  });
});
