// @vitest-environment jsdom
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { afterEach, describe, expect, it } from 'vitest';
import * as api from './api';

afterEach(() => clearMocks());

describe('api', () => {
  it('passes arguments by name and returns the answer', async () => {
    const calls: [string, unknown][] = [];
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      return cmd === 'add_jobs' ? [7, 8] : null;
    });
    await expect(api.addJobs(['/a.mp4', 'https://x/b.mp4'])).resolves.toEqual([7, 8]);
    await api.setLaunchAtLogin(true);
    await api.jobLog(3);
    await api.localNodeAction('restart');
    expect(calls).toEqual([
      ['add_jobs', { inputs: ['/a.mp4', 'https://x/b.mp4'] }],
      ['set_launch_at_login', { enabled: true }],
      ['job_log', { id: 3 }],
      ['local_node_action', { action: 'restart' }],
    ]);
  });

  it('rejects with the AppError the command returned', async () => {
    const refused = { code: 'no_such_job', message: 'job 9 does not exist', fields: [] };
    mockIPC(() => Promise.reject(refused));
    await expect(api.jobReport(9)).rejects.toEqual(refused);
  });

  it('turns any other failure into an internal AppError', async () => {
    mockIPC(() => {
      throw 'invalid args `id` for command `job_report`';
    });
    await expect(api.jobReport(9)).rejects.toEqual({
      code: 'internal',
      message: 'invalid args `id` for command `job_report`',
      fields: [],
    });
  });
});
