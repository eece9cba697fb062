/**
 * Device groups and their automated remediation level (none | semi | full), as in the reference's
 * prerequisites: a device whose group has no level refuses live response sessions. A device belongs to the
 * group an admin assigned it to by hand, else to the first group (by rank, i.e. creation order) whose rule
 * matches it (device name glob, OS substring, or a tag of the device), else to `default` (level full, so a
 * tenant that never made a group behaves as before).
 */
import { z } from 'zod';
import type { Db } from './db.js';
import type { DeviceRow } from './store.js';
import { matchWildcard, type WildcardToken } from '../shared/wildcard.js';

export const REMEDIATION_LEVELS = ['none', 'semi', 'full'] as const;
export type RemediationLevel = (typeof REMEDIATION_LEVELS)[number];
export const DEFAULT_GROUP = 'default';

export const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
export const TAG = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

export const groupRuleSchema = z
  .object({
    name: z.string().min(1).max(256).optional(),
    os: z.string().min(1).max(256).optional(),
    tag: z.string().regex(TAG, 'tags are letters, digits, . _ : - (max 64)').optional(),
  })
  .strict();
export type GroupRule = z.infer<typeof groupRuleSchema>;

export interface DeviceGroup {
  name: string;
  remediationLevel: RemediationLevel;
  rule: GroupRule | null;
  rank: number;
  createdAt: string;
}

export interface Membership {
  group: DeviceGroup;
  /** How the device came to be in the group. */
  by: 'assigned' | 'rule' | 'default';
}

export class GroupError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

interface GroupRow {
  name: string;
  remediation_level: RemediationLevel;
  rule_name: string | null;
  rule_os: string | null;
  rule_tag: string | null;
  rank: number;
  created_at: string;
}

function toGroup(r: GroupRow): DeviceGroup {
  const rule: GroupRule = {};
  if (r.rule_name !== null) rule.name = r.rule_name;
  if (r.rule_os !== null) rule.os = r.rule_os;
  if (r.rule_tag !== null) rule.tag = r.rule_tag;
  return {
    name: r.name,
    remediationLevel: r.remediation_level,
    rule: Object.keys(rule).length ? rule : null,
    rank: r.rank,
    createdAt: r.created_at,
  };
}

/**
 * Case folding as a regex with the `i` flag (and no `u`) does it, one UTF-16 unit at a time: the unit's
 * upper case when that is one unit, except that a non-ASCII unit never folds to an ASCII one.
 */
function foldCase(unit: number): number {
  const upper = String.fromCharCode(unit).toUpperCase();
  if (upper.length !== 1) return unit;
  const folded = upper.charCodeAt(0);
  return unit >= 128 && folded < 128 ? unit : folded;
}

/**
 * `*` any run of characters, `?` one; everything else literal; case-insensitive; whole name. Matched in
 * linear-bounded time (shared/wildcard.ts): an enrolled device chooses its own name, and a backtracking
 * regex of a rule with several stars could be made to hold the service for seconds per device.
 */
export function globMatches(glob: string, text: string): boolean {
  const tokens: WildcardToken[] = [];
  for (let i = 0; i < glob.length; i++) {
    const c = glob.charCodeAt(i);
    if (c === 0x2a) tokens.push({ kind: 'star' });
    else if (c === 0x3f) tokens.push({ kind: 'any' });
    else tokens.push({ kind: 'char', cp: foldCase(c) });
  }
  return matchWildcard(tokens, text, { units: 'utf16', fold: foldCase });
}

export function ruleMatches(rule: GroupRule, device: Pick<DeviceRow, 'name' | 'os'>, tags: readonly string[]): boolean {
  if (!rule.name && !rule.os && !rule.tag) return false;
  if (rule.name && !globMatches(rule.name, device.name)) return false;
  if (rule.os && !device.os.toLowerCase().includes(rule.os.toLowerCase())) return false;
  if (rule.tag && !tags.includes(rule.tag)) return false;
  return true;
}

export class GroupStore {
  constructor(private readonly db: Db) {}

  list(): DeviceGroup[] {
    return (this.db.prepare('SELECT * FROM device_groups ORDER BY rank, name').all() as GroupRow[]).map(toGroup);
  }

  get(name: string): DeviceGroup | null {
    const r = this.db.prepare('SELECT * FROM device_groups WHERE name = ?').get(name) as GroupRow | undefined;
    return r ? toGroup(r) : null;
  }

  add(name: string, level: RemediationLevel, rule: GroupRule | null): DeviceGroup {
    if (!GROUP_NAME.test(name))
      throw new GroupError(
        `invalid group name ${JSON.stringify(name.slice(0, 80))}: letters, digits, . _ - (max 64)`,
        400,
      );
    if (this.get(name)) throw new GroupError(`group ${name} already exists`, 409);
    const rank =
      ((this.db.prepare(`SELECT max(rank) FROM device_groups WHERE name <> ?`).pluck().get(DEFAULT_GROUP) as
        number | null) ?? 0) + 1;
    this.db
      .prepare(
        'INSERT INTO device_groups (name, remediation_level, rule_name, rule_os, rule_tag, rank, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      )
      .run(name, level, rule?.name ?? null, rule?.os ?? null, rule?.tag ?? null, rank, new Date().toISOString());
    return this.get(name) as DeviceGroup;
  }

  setLevel(name: string, level: RemediationLevel): DeviceGroup {
    const r = this.db.prepare('UPDATE device_groups SET remediation_level = ? WHERE name = ?').run(level, name);
    if (r.changes === 0) throw new GroupError(`no group ${name}`, 404);
    return this.get(name) as DeviceGroup;
  }

  setRule(name: string, rule: GroupRule | null): DeviceGroup {
    if (name === DEFAULT_GROUP && rule)
      throw new GroupError(`the ${DEFAULT_GROUP} group takes every device no other group takes: it has no rule`, 400);
    const r = this.db
      .prepare('UPDATE device_groups SET rule_name = ?, rule_os = ?, rule_tag = ? WHERE name = ?')
      .run(rule?.name ?? null, rule?.os ?? null, rule?.tag ?? null, name);
    if (r.changes === 0) throw new GroupError(`no group ${name}`, 404);
    return this.get(name) as DeviceGroup;
  }

  delete(name: string): void {
    if (name === DEFAULT_GROUP) throw new GroupError(`the ${DEFAULT_GROUP} group cannot be deleted`, 400);
    const r = this.db.prepare('DELETE FROM device_groups WHERE name = ?').run(name);
    if (r.changes === 0) throw new GroupError(`no group ${name}`, 404);
  }

  /** Puts a device in a group by hand (overrides the rules); group null returns it to the rules. */
  assign(deviceId: string, group: string | null, by: string): void {
    if (group === null) {
      this.db.prepare('DELETE FROM device_group_members WHERE device_id = ?').run(deviceId);
      return;
    }
    if (!this.get(group)) throw new GroupError(`no group ${group}`, 404);
    this.db
      .prepare(
        'INSERT INTO device_group_members (device_id, group_name, assigned_by, assigned_at) VALUES (?, ?, ?, ?) ON CONFLICT(device_id) DO UPDATE SET group_name = excluded.group_name, assigned_by = excluded.assigned_by, assigned_at = excluded.assigned_at',
      )
      .run(deviceId, group, by, new Date().toISOString());
  }

  tags(deviceId: string): string[] {
    return this.db
      .prepare('SELECT tag FROM device_tags WHERE device_id = ? ORDER BY tag')
      .pluck()
      .all(deviceId) as string[];
  }

  setTags(deviceId: string, tags: readonly string[]): void {
    for (const t of tags)
      if (!TAG.test(t))
        throw new GroupError(`invalid tag ${JSON.stringify(t.slice(0, 80))}: letters, digits, . _ : - (max 64)`, 400);
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM device_tags WHERE device_id = ?').run(deviceId);
      const ins = this.db.prepare('INSERT OR IGNORE INTO device_tags (device_id, tag) VALUES (?, ?)');
      for (const t of tags) ins.run(deviceId, t);
    })();
  }

  /** The group a device is in now (see the file comment for the order). */
  groupOf(device: Pick<DeviceRow, 'id' | 'name' | 'os'>): Membership {
    const assigned = this.db
      .prepare(
        'SELECT g.* FROM device_group_members m JOIN device_groups g ON g.name = m.group_name WHERE m.device_id = ?',
      )
      .get(device.id) as GroupRow | undefined;
    if (assigned) return { group: toGroup(assigned), by: 'assigned' };
    const tags = this.tags(device.id);
    for (const g of this.list()) {
      if (g.name !== DEFAULT_GROUP && g.rule && ruleMatches(g.rule, device, tags)) return { group: g, by: 'rule' };
    }
    const fallback = this.get(DEFAULT_GROUP) ?? {
      name: DEFAULT_GROUP,
      remediationLevel: 'full' as const,
      rule: null,
      rank: 1e9,
      createdAt: '',
    };
    return { group: fallback, by: 'default' };
  }

  /** The refusal of a session on this device, or null when its group has a remediation level. */
  sessionRefusal(device: Pick<DeviceRow, 'id' | 'name' | 'os'>): string | null {
    const m = this.groupOf(device);
    if (m.group.remediationLevel !== 'none') return null;
    return `connect: no automated remediation level assigned to the device group of ${device.name} (group ${m.group.name}); an admin must set one first (lr groups set-level ${m.group.name} semi|full)`;
  }
}
