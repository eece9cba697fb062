/** Every command the agent executes, by name (the catalog says who may run them and for how long). */
import type { AgentCommand } from '../command.js';
import { cdCommand } from './cd.js';
import { connectionsCommand } from './connections.js';
import { dirCommand } from './dir.js';
import { driversCommand } from './drivers.js';
import { fileinfoCommand } from './fileinfo.js';
import { getfileCommand } from './getfile.js';
import { findfileCommand } from './findfile.js';
import { persistenceCommand } from './persistence.js';
import { processesCommand } from './processes.js';
import { putfileCommand } from './putfile.js';
import { registryCommand } from './registry.js';
import { runCommand } from './run.js';
import { scheduledtasksCommand } from './scheduledtasks.js';
import { servicesCommand } from './services.js';
import { startupfoldersCommand } from './startupfolders.js';
import { remediateCommand } from './remediate.js';
import { undoCommand } from './undo.js';
import { isolateCommand, releaseCommand } from './isolate.js';
import { collectCommand } from './collect.js';
import { analyzeCommand } from './analyze.js';
import { scanCommand } from './scan.js';

const ALL: readonly AgentCommand[] = [
  cdCommand,
  dirCommand,
  processesCommand,
  connectionsCommand,
  fileinfoCommand,
  findfileCommand,
  getfileCommand,
  servicesCommand,
  driversCommand,
  scheduledtasksCommand,
  startupfoldersCommand,
  persistenceCommand,
  registryCommand,
  putfileCommand,
  runCommand,
  remediateCommand,
  undoCommand,
  isolateCommand,
  releaseCommand,
  collectCommand,
  analyzeCommand,
  scanCommand,
];

export const AGENT_COMMANDS: Map<string, AgentCommand> = new Map(ALL.map((c) => [c.spec.name, c]));
