/** A visible round trip through the typed API: text goes to `lr:app.echo` and comes back. */
import { useState, type FormEvent } from 'react';
import { MAX_ECHO_TEXT, type IpcResponse } from '../../../shared/ipc-contract.js';
import { call } from '../api/call.js';

type EchoState =
  | { kind: 'idle' }
  | { kind: 'waiting' }
  | { kind: 'answered'; reply: IpcResponse<'lr:app.echo'>; millis: number }
  | { kind: 'failed'; message: string };

export function EchoPanel() {
  const [text, setText] = useState('hello from the renderer');
  const [state, setState] = useState<EchoState>({ kind: 'idle' });

  async function send(event: FormEvent): Promise<void> {
    event.preventDefault();
    setState({ kind: 'waiting' });
    const started = performance.now();
    try {
      const reply = await call('lr:app.echo', { text });
      setState({ kind: 'answered', reply, millis: performance.now() - started });
    } catch (error) {
      setState({ kind: 'failed', message: error instanceof Error ? error.message : String(error) });
    }
  }

  return (
    <section className="card" aria-labelledby="echo-title">
      <h2 id="echo-title" className="card__title">
        API round trip
      </h2>
      <p className="card__hint">
        Sends the text to <code>lr:app.echo</code> through the typed API and shows what came back.
      </p>
      <form className="echo" onSubmit={(event) => void send(event)}>
        <input
          className="echo__input"
          data-testid="echo-input"
          aria-label="Text to echo"
          value={text}
          maxLength={MAX_ECHO_TEXT}
          onChange={(event) => setText(event.target.value)}
        />
        <button className="button" type="submit" data-testid="echo-send" disabled={state.kind === 'waiting'}>
          Echo
        </button>
      </form>
      <div className="echo__outcome" aria-live="polite">
        {state.kind === 'answered' && (
          <p>
            <span className="echo__label">reply</span> <span data-testid="echo-result">{state.reply.text}</span>
            <span className="echo__meta">
              call #{state.reply.handled} · {state.millis.toFixed(1)} ms
            </span>
          </p>
        )}
        {state.kind === 'failed' && (
          <p className="echo__error" data-testid="echo-error">
            {state.message}
          </p>
        )}
        {state.kind === 'waiting' && <p className="echo__meta">waiting…</p>}
      </div>
    </section>
  );
}
