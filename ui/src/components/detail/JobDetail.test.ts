// @vitest-environment jsdom
import { fireEvent, render, screen } from '@testing-library/svelte';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { attempt, change, jobReport } from '../../test/fixtures';
import JobDetail from './JobDetail.svelte';

afterEach(() => clearMocks());

describe('JobDetail', () => {
  it('lists every call to a node and the stages with their durations', async () => {
    const report = jobReport({
      id: 4,
      state: 'failed',
      retryable: true,
      error: 'no node holds the content',
      history: [
        change('queued', '2024-05-01T10:00:00Z'),
        change('pinning', '2024-05-01T10:02:00Z'),
        change('failed', '2024-05-01T10:02:30Z', 'no node holds the content'),
      ],
      attempts: [
        attempt({ node: 'primary', op: 'pin/add', ok: true, ms: 80 }),
        attempt({ node: 'backup', op: 'pin/add', attempt: 2, ok: false, ms: 3000, http_status: 502, error: 'bad gateway' }),
      ],
    });
    mockIPC((cmd, args) => (cmd === 'job_report' && (args as { id: number }).id === 4 ? report : null));
    const onBack = vi.fn();
    render(JobDetail, { id: 4, onBack });

    const rows = await screen.findAllByTestId('attempt-row');
    expect(rows.map((row) => ({ ...row.dataset }))).toEqual([
      { testid: 'attempt-row', node: 'primary', op: 'pin/add', ok: 'true' },
      { testid: 'attempt-row', node: 'backup', op: 'pin/add', ok: 'false' },
    ]);
    expect(rows[1].textContent).toContain('bad gateway');
    expect(rows[1].textContent).toContain('502');

    const detail = screen.getByTestId('job-detail');
    expect(detail.dataset.job).toBe('4');
    expect(detail.textContent).toContain('2 min 00 s');
    expect(detail.textContent).toContain('Retrying can help.');
    expect(screen.getByRole('button', { name: 'Retry' })).toBeTruthy();

    await fireEvent.click(screen.getByTestId('back-to-jobs'));
    expect(onBack).toHaveBeenCalled();
  });
});
