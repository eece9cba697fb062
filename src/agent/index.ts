/**
 * The public surface of the agent (src/agent): everything another program may use — `lr-agent` (src/cli)
 * and the workstation's standalone mode, which enrolls and runs an agent for its own machine in-process
 * (src/main/services/standalone.ts). Those programs import this file only (the layering lint rejects a
 * deeper import); inside src/agent, files import each other directly (commands/index.ts is the agent's
 * own list of commands, not part of this surface). Tests, bench/ and scripts/ may reach further.
 *
 * What is here, by use:
 *  - enrolling a data folder and running the agent on it (in-process or in the foreground);
 *  - the agent as a system service: install, uninstall, status, and the self-update supervisor. The
 *    platform code is loaded on demand (`load…()`): the Windows code loads koffi, and none of it is needed
 *    to run the agent;
 *  - what `lr-agent --version` and `status` print.
 */
export { enroll } from './enroll.js';
export { agentPaths, pointAgentAt, type AgentState } from './config.js';
export { startAgent, type RunningAgent, type StartAgentOptions } from './run-agent.js';
export { runAgentInForeground } from './install/foreground.js';
export { DEFAULT_DATA_DIR, linuxStatusLines } from './install/linux-unit.js';
export { defaultDataDir, statusLines } from './install/service-config.js';
export { agentVersionLine } from './device-info.js';
export { isSeaBuild } from './sea.js';

/** systemd: install, uninstall, status (Linux only). */
export const loadLinuxInstall = () => import('./install/linux-install.js');
/** The service control manager: install, uninstall, status, the service itself (Windows only; loads koffi). */
export const loadWindowsInstall = () => import('./install/windows-install.js');
/** `lr-agent service` on Linux: the self-update supervisor that runs the current build. */
export const loadSupervisor = () => import('./update/supervisor.js');
