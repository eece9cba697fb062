// The renderer's one place where IPC errors become what the analyst reads (call() goes through it): no channel
// name and no Electron wording in front of the message.
import { describe, expect, it } from 'vitest';
import type { IpcChannel, IpcResult } from '../../../src/shared/workstation/ipc-contract.js';
import { displayMessage, IpcCallError, responseOf } from '../../../src/renderer/src/api/ipc-errors.js';

describe('displayMessage', () => {
  it("removes the channel's prefix (main's wrapper, the browser shell's transport)", () => {
    expect(displayMessage('lr:sessions.run', 'lr:sessions.run: cannot reach the service')).toBe(
      'cannot reach the service',
    );
    expect(displayMessage('lr:sessions.run', 'lr:sessions.run: no answer within 120 s')).toBe('no answer within 120 s');
  });

  it("removes Electron's wording when the call itself failed", () => {
    expect(
      displayMessage(
        'lr:sessions.run',
        "Error invoking remote method 'lr:sessions.run': Error: No handler registered for 'lr:sessions.run'",
      ),
    ).toBe("No handler registered for 'lr:sessions.run'");
    expect(
      displayMessage(
        'lr:sessions.run',
        "Error invoking remote method 'lr:sessions.run': Error: lr:sessions.run: device offline",
      ),
    ).toBe('device offline');
    expect(
      displayMessage('lr:cases.open', "Error invoking remote method 'lr:cases.open': TypeError: x is undefined"),
    ).toBe('x is undefined');
  });

  it('leaves every other message as it is', () => {
    expect(displayMessage('lr:sessions.open', 'connect: the device is offline')).toBe('connect: the device is offline');
    expect(displayMessage('lr:sessions.open', 'see lr:sessions.open: later')).toBe('see lr:sessions.open: later');
    expect(displayMessage('lr:sessions.open', 'lr:sessions.run: other channel')).toBe('lr:sessions.run: other channel');
  });
});

describe('responseOf (what call() returns or throws)', () => {
  it("returns the result, or throws the error's code and its bare message", async () => {
    const ok: IpcResult<'lr:app.echo'> = { ok: true, result: { text: 'hi', handled: 1 } };
    await expect(responseOf('lr:app.echo', Promise.resolve(ok))).resolves.toEqual({ text: 'hi', handled: 1 });

    const refused: IpcResult<'lr:app.echo'> = {
      ok: false,
      error: { code: 'handler-failed', message: 'lr:app.echo: no such device' },
    };
    const failed = await responseOf('lr:app.echo', Promise.resolve(refused)).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(IpcCallError);
    expect(failed).toMatchObject({
      code: 'handler-failed',
      message: 'no such device',
      channel: 'lr:app.echo' satisfies IpcChannel,
    });
  });

  it('turns a rejected invoke (Electron) into the same kind of error, without the transport wording', async () => {
    const rejected = Promise.reject(
      new Error("Error invoking remote method 'lr:app.echo': Error: No handler registered for 'lr:app.echo'"),
    );
    const failed = await responseOf('lr:app.echo', rejected).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(IpcCallError);
    expect(failed).toMatchObject({ code: 'disconnected', message: "No handler registered for 'lr:app.echo'" });
  });
});
