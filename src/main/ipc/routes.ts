/** Which service method answers which contract channel. Validation happens before these run. */
import type { Services } from '../services/index.js';
import type { IpcHandlerTable } from './validated.js';

export function handlerTable(services: Services): IpcHandlerTable {
  return {
    'lr:app.info': () => services.appInfo.info(),
    'lr:app.echo': ({ text }) => services.echo.echo(text),
  };
}
