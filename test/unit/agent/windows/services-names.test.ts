/** The SCM's numbers in words, and how a service record is made from what the SCM gives (pure). */
import { describe, expect, it } from 'vitest';
import { serviceRecord } from '../../../../src/agent/platform/windows/services.js';
import {
  serviceRegistryKey,
  serviceStateName,
  serviceTypeName,
  startTypeName,
} from '../../../../src/agent/platform/windows/services-names.js';

describe('SCM names', () => {
  it('names every service state', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map(serviceStateName)).toEqual([
      'stopped',
      'start_pending',
      'stop_pending',
      'running',
      'continue_pending',
      'pause_pending',
      'paused',
    ]);
    expect(serviceStateName(9)).toBe('unknown(9)');
  });

  it('names start types, delayed auto-start included', () => {
    expect([0, 1, 2, 3, 4].map((t) => startTypeName(t))).toEqual(['boot', 'system', 'auto', 'demand', 'disabled']);
    expect(startTypeName(2, true)).toBe('delayed-auto');
    // the delayed flag only means something for an auto-start service
    expect(startTypeName(3, true)).toBe('demand');
    expect(startTypeName(7)).toBe('unknown(7)');
  });

  it('names service types with their modifier flags and keeps unknown bits', () => {
    expect(serviceTypeName(0x10)).toBe('own_process');
    expect(serviceTypeName(0x20)).toBe('share_process');
    expect(serviceTypeName(0x110)).toBe('own_process+interactive');
    expect(serviceTypeName(0x50)).toBe('user_own_process');
    expect(serviceTypeName(0xe0)).toBe('user_share_process+instance');
    expect(serviceTypeName(0x1)).toBe('kernel_driver');
    expect(serviceTypeName(0x2)).toBe('file_system_driver');
    expect(serviceTypeName(0x10 | 0x1000)).toBe('own_process+0x1000');
    expect(serviceTypeName(0)).toBe('unknown');
  });

  it('points a service at its registry key', () => {
    expect(serviceRegistryKey('lrevil')).toBe('HKLM\\SYSTEM\\CurrentControlSet\\Services\\lrevil');
  });
});

describe('service records', () => {
  const status = { name: 'Svc', displayName: 'The Service', type: 0x20, state: 4, pid: 812 };

  it('maps status and configuration to the record', () => {
    const r = serviceRecord({
      ...status,
      config: {
        startType: 2,
        delayedAutoStart: true,
        binaryPath: 'C:\\Windows\\system32\\svchost.exe -k netsvcs',
        account: 'LocalSystem',
        loadOrderGroup: '',
        description: 'Does things',
      },
    });
    expect(r).toEqual({
      name: 'Svc',
      kind: 'windows',
      state: 'running',
      subState: 'share_process',
      enabled: 'delayed-auto',
      unitPath: 'HKLM\\SYSTEM\\CurrentControlSet\\Services\\Svc',
      execStart: 'C:\\Windows\\system32\\svchost.exe -k netsvcs',
      description: 'The Service',
      account: 'LocalSystem',
      pid: 812,
      serviceDescription: 'Does things',
    });
  });

  it('still lists a service whose configuration could not be read, with what the enumeration gave', () => {
    const r = serviceRecord({ ...status, state: 1, pid: 0, config: null });
    expect(r).toMatchObject({
      name: 'Svc',
      state: 'stopped',
      subState: 'share_process',
      enabled: 'unknown',
      execStart: null,
      account: null,
      description: 'The Service',
      pid: null,
    });
  });
});
