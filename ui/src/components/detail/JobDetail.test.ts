// @vitest-environment jsdom
import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { JobLogLine, JobReport } from '../../bindings';
import { notice } from '../../lib/notice.svelte';
import { attempt, change, embedClaim, jobReport, outboxEntry } from '../../test/fixtures';
import JobDetail from './JobDetail.svelte';

afterEach(() => {
  clearMocks();
  notice.dismiss();
});

/** The backend of job `report.id`; every command asked is recorded. */
function backend(report: JobReport, log: JobLogLine[] = [], openLog: () => unknown = () => null) {
  const calls: [string, unknown][] = [];
  mockIPC((cmd, args) => {
    calls.push([cmd, args]);
    if (cmd === 'list_jobs') return [];
    if ((args as { id?: number }).id !== report.id) return null;
    if (cmd === 'job_report') return report;
    if (cmd === 'job_log') return log;
    if (cmd === 'open_job_log') return openLog();
    return null;
  });
  return calls;
}

describe('JobDetail', () => {
  it('says which 3Speak video a job is and how its report went', async () => {
    const report = jobReport({
      id: 9,
      state: 'done',
      embed: embedClaim({ job_id: 9, job_state: 'done', closed_at: '2026-12-02T10:05:00Z', last_progress: 90 }),
      embed_report: outboxEntry({
        job_id: 9,
        status: 'delivered',
        tries: 2,
        answer: '{"success":true}',
        delivered_at: '2026-12-02T10:06:00Z',
      }),
    });
    backend(report);
    render(JobDetail, { id: 9, onBack: () => {} });
    const claim = await screen.findByTestId('embed-claim');
    expect(claim.textContent).toContain('alice/first');
    expect(claim.textContent).toContain('claimed (community)');
    const sent = screen.getByTestId('embed-report');
    expect(sent.dataset.status).toBe('delivered');
    expect(sent.textContent).toContain('complete, delivered');
    expect(sent.textContent).toContain('2 tries');
    expect(claim.textContent).not.toContain('HTTP 503');
  });

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
    backend(report);
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

  it("shows the engine's log lines in their tones and opens the whole log", async () => {
    const log: JobLogLine[] = [
      { at: '2024-05-01T10:00:00Z', text: '→ queued', tone: 'info' },
      { at: '2024-05-01T10:00:05Z', text: 'primary pin/add #1 ok in 80 ms', tone: 'ok' },
      { at: '2024-05-01T10:00:09Z', text: 'audit backup: missing', tone: 'error' },
    ];
    const calls = backend(jobReport({ id: 7 }), log);
    render(JobDetail, { id: 7, onBack: () => {} });

    const tail = await screen.findByTestId('job-log');
    const lines = await within(tail).findAllByRole('listitem');
    expect(lines.map((line) => line.textContent?.replace(/^\S+ /, ''))).toEqual(log.map((line) => line.text));
    const tones = ['info', 'ok', 'error'];
    expect(lines.map((line) => tones.find((tone) => line.classList.contains(tone)))).toEqual(['info', 'ok', 'error']);
    expect(calls).toContainEqual(['job_log', { id: 7 }]);
    // The detail's header does not offer the log twice.
    expect(screen.queryByTestId('open-log-7')).toBeNull();

    await fireEvent.click(screen.getByTestId('open-job-log'));
    expect(calls.at(-1)).toEqual(['open_job_log', { id: 7 }]);
  });

  it('says when a job waiting to retry a stage is tried again, and where it stands', async () => {
    const report = jobReport({
      id: 4,
      state: 'awaiting_retry',
      cid: null,
      error: 'no node could take the upload (supernode: connection refused)',
      retryable: true,
      next_try_at: '2026-12-02T10:06:00Z',
      history: [change('queued', '2026-12-02T10:00:00Z'), change('uploading', '2026-12-02T10:02:00Z'), change('awaiting_retry', '2026-12-02T10:05:30Z')],
    });
    backend(report);
    render(JobDetail, { id: 4, onBack: () => {} });

    const next = await screen.findByTestId('next-try');
    expect(next.textContent).toContain('Tried again at');
    expect(screen.getByRole('alert').textContent).toContain('connection refused');
    expect(document.querySelector('[aria-current="step"]')?.textContent).toContain('upload');
  });

  it('reloads the log with the report after an action', async () => {
    const calls = backend(jobReport({ id: 3, state: 'failed', retryable: true, cid: null }));
    render(JobDetail, { id: 3, onBack: () => {} });
    await fireEvent.click(await screen.findByRole('button', { name: 'Retry' }));
    await waitFor(() => expect(calls.filter(([cmd]) => cmd === 'job_log')).toHaveLength(2));
    expect(calls.filter(([cmd]) => cmd === 'job_report')).toHaveLength(2);
    expect(notice.error).toBeNull();
  });

  it('reports a log that cannot be opened', async () => {
    backend(jobReport({ id: 2 }), [], () => Promise.reject({ code: 'storage', message: 'cannot write job.log', fields: [] }));
    render(JobDetail, { id: 2, onBack: () => {} });
    await fireEvent.click(await screen.findByTestId('open-job-log'));
    await waitFor(() => expect(notice.error?.message).toBe('cannot write job.log'));
  });
});
