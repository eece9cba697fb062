/**
 * Who may do what: every console command (from the catalog) and every REST route, for the roles basic,
 * advanced and admin and the library-manager permission. Rendered into docs/permissions.md
 * (`npm run docs:commands`); a test checks the document is current and that the service enforces it.
 * Pure data.
 */
import { CATALOG, roleAllows, type CommandSpec, type Role } from './catalog.js';

export type Principal = 'basic' | 'advanced' | 'admin' | 'libraryManager';
export const PRINCIPALS: readonly Principal[] = ['basic', 'advanced', 'admin', 'libraryManager'];
const PRINCIPAL_TITLES: Record<Principal, string> = {
  basic: 'basic',
  advanced: 'advanced',
  admin: 'admin',
  libraryManager: 'library manager',
};

/** The role a principal has (a library manager is an advanced user holding the permission). */
export function roleOf(p: Principal): Role {
  return p === 'libraryManager' ? 'advanced' : p;
}

/** Whether a principal may run a command (the service refuses it otherwise, and so does the agent). */
export function mayRunCommand(p: Principal, spec: CommandSpec): boolean {
  return roleAllows(roleOf(p), spec.role);
}

/** Finer rules inside one command, shown beside the matrix. */
const COMMAND_NOTES: Record<string, string> = {
  library: '`library delete` also needs the library-manager permission (admins have it)',
  connect: 'also refused when the device group has no remediation level',
  run: 'unsigned scripts only when the tenant allows them',
};

export type RouteNeed =
  | 'nothing'
  | 'any user'
  | 'advanced'
  | 'admin'
  | 'library manager'
  | 'enrollment token'
  | 'device key'
  | 'download token';

export interface RoutePermission {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'WS';
  path: string;
  need: RouteNeed;
  what: string;
}

/** Every route of the service (REST and WebSocket), with what it needs. */
export const ROUTES: readonly RoutePermission[] = [
  {
    method: 'POST',
    path: '/api/v1/enroll',
    need: 'enrollment token',
    what: 'enrolls a device (one-time, expiring token)',
  },
  {
    method: 'WS',
    path: '/api/v1/agent',
    need: 'device key',
    what: "agent link (challenge signed with the device's key)",
  },
  {
    method: 'GET',
    path: '/api/v1/agent/files/:token',
    need: 'download token',
    what: 'one-time library file download by an agent',
  },
  {
    method: 'WS',
    path: '/api/v1/console',
    need: 'any user',
    what: 'console: sessions and commands (each command per the matrix above)',
  },
  { method: 'GET', path: '/api/v1/me', need: 'any user', what: 'who am I' },
  { method: 'GET', path: '/api/v1/devices', need: 'any user', what: 'device inventory' },
  { method: 'GET', path: '/api/v1/log', need: 'any user', what: 'command log entries' },
  { method: 'GET', path: '/api/v1/log/query', need: 'any user', what: 'command log viewer query' },
  { method: 'GET', path: '/api/v1/log/facets', need: 'any user', what: 'command log filter menus' },
  { method: 'GET', path: '/api/v1/log/:id', need: 'any user', what: 'one command log entry with its output' },
  { method: 'GET', path: '/api/v1/log/verify', need: 'admin', what: 'verifies the command log hash chain' },
  { method: 'GET', path: '/api/v1/log/export', need: 'admin', what: 'command log as JSON lines (SIEM)' },
  { method: 'GET', path: '/api/v1/library', need: 'advanced', what: 'lists the script library' },
  { method: 'PUT', path: '/api/v1/library/:name', need: 'library manager', what: 'uploads a library file' },
  { method: 'DELETE', path: '/api/v1/library/:name', need: 'library manager', what: 'deletes a library file' },
  { method: 'GET', path: '/api/v1/publishers', need: 'admin', what: 'lists trusted script publishers' },
  { method: 'POST', path: '/api/v1/publishers', need: 'admin', what: 'adds a trusted script publisher' },
  { method: 'DELETE', path: '/api/v1/publishers/:name', need: 'admin', what: 'removes a trusted script publisher' },
  { method: 'GET', path: '/api/v1/settings', need: 'admin', what: 'tenant settings' },
  { method: 'PUT', path: '/api/v1/settings', need: 'admin', what: 'changes tenant settings (unsigned scripts)' },
  { method: 'GET', path: '/api/v1/indicators', need: 'advanced', what: 'lists hash indicators' },
  { method: 'POST', path: '/api/v1/indicators', need: 'admin', what: 'adds a hash indicator' },
  { method: 'DELETE', path: '/api/v1/indicators/:sha256', need: 'admin', what: 'removes a hash indicator' },
  { method: 'GET', path: '/api/v1/users', need: 'admin', what: 'lists users and their tokens' },
  {
    method: 'POST',
    path: '/api/v1/users/:name/revoke',
    need: 'admin',
    what: "revokes a user's tokens (ends their consoles and sessions)",
  },
  { method: 'GET', path: '/api/v1/groups', need: 'admin', what: 'lists device groups with their members' },
  { method: 'POST', path: '/api/v1/groups', need: 'admin', what: 'adds a device group' },
  { method: 'PUT', path: '/api/v1/groups/:name/level', need: 'admin', what: "sets a group's remediation level" },
  { method: 'PUT', path: '/api/v1/groups/:name/rule', need: 'admin', what: "sets a group's membership rule" },
  { method: 'POST', path: '/api/v1/groups/:name/devices', need: 'admin', what: 'assigns a device to a group by hand' },
  { method: 'DELETE', path: '/api/v1/groups/:name', need: 'admin', what: 'deletes a device group' },
  { method: 'GET', path: '/api/v1/devices/:device/group', need: 'admin', what: "a device's group and tags" },
  {
    method: 'DELETE',
    path: '/api/v1/devices/:device/group',
    need: 'admin',
    what: 'returns a device to the group rules',
  },
  { method: 'PUT', path: '/api/v1/devices/:device/tags', need: 'admin', what: "sets a device's tags" },
  {
    method: 'PUT',
    path: '/api/v1/devices/:device/name',
    need: 'admin',
    what: 'renames a device (names are unique, any case)',
  },
  {
    method: 'POST',
    path: '/api/v1/batches',
    need: 'any user',
    what: 'starts a batch run (each command per the matrix above: refused whole if one is not allowed)',
  },
  { method: 'GET', path: '/api/v1/batches', need: 'any user', what: 'lists batch runs' },
  {
    method: 'GET',
    path: '/api/v1/batches/:id',
    need: 'any user',
    what: "a batch run with each device's status and steps",
  },
  {
    method: 'POST',
    path: '/api/v1/batches/:id/cancel',
    need: 'any user',
    what: 'cancels a batch run (its creator or an admin)',
  },
  {
    method: 'GET',
    path: '/api/v1/batches/:id/results',
    need: 'any user',
    what: "every device's records in one table (JSON or CSV)",
  },
  {
    method: 'GET',
    path: '/api/v1/batches/:id/files/:device/:step',
    need: 'any user',
    what: 'a file a batch pulled from a device',
  },
  {
    method: 'GET',
    path: '/api/v1/batches/:id/text/:device/:step',
    need: 'any user',
    what: "a step's text output on a device",
  },
  {
    method: 'POST',
    path: '/api/v1/devices/:device/commands',
    need: 'any user',
    what: 'runs one console command line on one device and answers its results (per the matrix above)',
  },
  {
    method: 'POST',
    path: '/api/v1/machines/:id/runliveresponse',
    need: 'any user',
    what: 'vendor-compatible machine action on one device (each command per the matrix above: RunScript and PutFile need advanced)',
  },
  { method: 'GET', path: '/api/v1/machineactions', need: 'any user', what: 'lists machine actions' },
  { method: 'GET', path: '/api/v1/machineactions/:id', need: 'any user', what: 'a machine action with its commands' },
  {
    method: 'POST',
    path: '/api/v1/machineactions/:id/cancel',
    need: 'any user',
    what: 'cancels a machine action (its requestor or an admin)',
  },
  {
    method: 'GET',
    path: '/api/v1/machineactions/:id/GetLiveResponseResultDownloadLink(index=:index)',
    need: 'any user',
    what: "a single-use link (30 min) to one command's result",
  },
  {
    method: 'GET',
    path: '/api/v1/results/:token',
    need: 'download token',
    what: "a machine action command's result through its single-use link (no API token)",
  },
  {
    method: 'GET',
    path: '/api/v1/openapi.json',
    need: 'nothing',
    what: 'the OpenAPI 3.1 document of the automation API',
  },
];

/** Whether a principal passes a route's permission check (routes needing no user answer false). */
export function mayCallRoute(p: Principal, r: RoutePermission): boolean {
  switch (r.need) {
    case 'nothing':
    case 'any user':
      return true;
    case 'advanced':
      return roleAllows(roleOf(p), 'advanced');
    case 'admin':
      return p === 'admin';
    case 'library manager':
      return p === 'admin' || p === 'libraryManager';
    default:
      return false;
  }
}

const mark = (yes: boolean) => (yes ? '✓' : '—');

export function renderPermissionsDoc(): string {
  const out: string[] = [];
  out.push(
    '<!-- Generated from src/shared/commands/permissions.ts and the command catalog by `npm run docs:commands`; do not edit. -->',
  );
  out.push('# Roles and permissions');
  out.push('');
  out.push('Three roles (**basic** ⊂ **advanced** ⊂ **admin**) and one permission, **library manager** ("manage');
  out.push('security settings" in the reference; held by advanced users, admins have it implicitly). The service');
  out.push('enforces this on every command and every API call; the agent enforces the command column again: each');
  out.push("job carries the service's Ed25519 signature over the user's role, and the agent refuses a command whose");
  out.push('role is above the signed one. A refusal is one line and is recorded in the command log.');
  out.push('');
  out.push('## Console commands');
  out.push('');
  out.push(`| command | needs | ${PRINCIPALS.map((p) => PRINCIPAL_TITLES[p]).join(' | ')} | notes |`);
  out.push(`|---|---|${PRINCIPALS.map(() => '---').join('|')}|---|`);
  for (const c of CATALOG) {
    out.push(
      `| \`${c.name}\` | ${c.role} | ${PRINCIPALS.map((p) => mark(mayRunCommand(p, c))).join(' | ')} | ${COMMAND_NOTES[c.name] ?? ''} |`,
    );
  }
  out.push('');
  out.push('## Service routes');
  out.push('');
  out.push(
    'Routes marked *enrollment token* or *device key* are for agents, not users; *download token* routes take a',
  );
  out.push("one-time token instead of an API token (an agent's library file, a machine action result link).");
  out.push('');
  out.push(`| method | route | needs | ${PRINCIPALS.map((p) => PRINCIPAL_TITLES[p]).join(' | ')} | what |`);
  out.push(`|---|---|---|${PRINCIPALS.map(() => '---').join('|')}|---|`);
  for (const r of ROUTES) {
    const userRoute = r.need !== 'enrollment token' && r.need !== 'device key' && r.need !== 'download token';
    const cells = PRINCIPALS.map((p) => (userRoute ? mark(mayCallRoute(p, r)) : 'n/a')).join(' | ');
    out.push(`| ${r.method} | \`${r.path}\` | ${r.need} | ${cells} | ${r.what} |`);
  }
  out.push('');
  out.push('## Beyond roles');
  out.push('');
  out.push('- A session on a device whose device group has the remediation level *none* is refused for everyone');
  out.push('  (`connect: no automated remediation level assigned to the device group of …`).');
  out.push('- A revoked or expired API token is refused at once; its open consoles and sessions end within a second.');
  out.push('- Failed authentications are rate-limited per remote address (see docs/security.md).');
  out.push("- A device's name is fixed by the service at enrollment (unique without regard to case; a taken name gets");
  out.push(
    '  a `-2`, `-3`… suffix, which `lr-agent enroll` prints). The agent cannot rename its device; only an admin',
  );
  out.push('  can (`lr devices rename DEVICE NEWNAME`, refused when the name is taken).');
  out.push('- `lr-server` subcommands (init, start, enroll-token, user add|list|revoke|token) need access to the data');
  out.push('  folder, not a role.');
  out.push('');
  return out.join('\n');
}
