// @vitest-environment jsdom
import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { JobSummary } from '../../bindings';
import { notice } from '../../lib/notice.svelte';
import { jobSummary } from '../../test/fixtures';
import JobsView from './JobsView.svelte';

afterEach(() => {
  clearMocks();
  notice.dismiss();
});

describe('JobsView', () => {
  it('adds the typed input as a job and lists it', async () => {
    let jobs: JobSummary[] = [];
    const added: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === 'add_jobs') {
        added.push(args);
        jobs = [jobSummary({ id: 5, input: 'https://cdn.example/v.mp4', state: 'queued' })];
        return [5];
      }
      if (cmd === 'list_jobs') return jobs;
      return null;
    });
    render(JobsView, { onOpen: () => {} });
    const field = screen.getByTestId<HTMLInputElement>('add-input');
    await fireEvent.input(field, { target: { value: '  https://cdn.example/v.mp4 ' } });
    await fireEvent.click(screen.getByTestId('add-button'));

    const row = await screen.findByTestId('job-row-5');
    expect(added).toEqual([{ inputs: ['https://cdn.example/v.mp4'] }]);
    expect(row.dataset.state).toBe('queued');
    expect(row.textContent).toContain('v.mp4');
    await waitFor(() => expect(field.value).toBe(''));
  });

  it('keeps the input and reports a refused one', async () => {
    mockIPC((cmd) => {
      if (cmd === 'add_jobs') {
        return Promise.reject({ code: 'invalid_input', message: 'input "nope.mp4": no such file', fields: [] });
      }
      return [];
    });
    render(JobsView, { onOpen: () => {} });
    const field = screen.getByTestId<HTMLInputElement>('add-input');
    await fireEvent.input(field, { target: { value: 'nope.mp4' } });
    await fireEvent.click(screen.getByTestId('add-button'));

    await waitFor(() => expect(notice.error?.message).toBe('input "nope.mp4": no such file'));
    expect(field.value).toBe('nope.mp4');
  });

  it('opens a job from its row and offers only the actions its state allows', async () => {
    mockIPC((cmd) =>
      cmd === 'list_jobs'
        ? [
            jobSummary({ id: 2, state: 'failed', retryable: true, error: 'all nodes refused' }),
            jobSummary({ id: 1, state: 'done', cid: 'bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi' }),
          ]
        : null,
    );
    const onOpen = vi.fn();
    render(JobsView, { onOpen });
    const { live } = await import('../../lib/live.svelte');
    await live.refreshJobs();

    const failed = await screen.findByTestId('job-row-2');
    expect(failed.textContent).toContain('all nodes refused');
    expect(buttonsOf(failed)).toEqual(['talk.mp4', 'Retry', 'Open log']);
    expect(buttonsOf(screen.getByTestId('job-row-1'))).toEqual(['talk.mp4', 'Open folder', 'Open log', 'Copy CID', 'Open in gateway']);

    await fireEvent.click(failed.querySelector('button')!);
    expect(onOpen).toHaveBeenCalledWith(2);
  });

  it('says a job waits for an encode slot rather than showing it at work', async () => {
    mockIPC((cmd) =>
      cmd === 'list_jobs'
        ? [
            jobSummary({ id: 2, state: 'probing', waiting_for_slot: 'cpu' }),
            jobSummary({ id: 1, state: 'encoding' }),
          ]
        : null,
    );
    render(JobsView, { onOpen: () => {} });
    const { live } = await import('../../lib/live.svelte');
    await live.refreshJobs();

    const waiting = await screen.findByTestId('job-row-2');
    expect(waiting.querySelector('[aria-current="step"]')?.textContent).toContain('waiting for an encode slot');
    expect(screen.getByTestId('job-row-1').textContent).not.toContain('waiting');
  });

  it('shows what each job folder and all of them take, beside the free space', async () => {
    mockIPC((cmd) => {
      if (cmd === 'list_jobs') return [jobSummary({ id: 3, state: 'failed' }), jobSummary({ id: 2, state: 'done' })];
      if (cmd === 'disk_usage') {
        return { jobs: [{ job: 3, bytes: 3 * 1024 * 1024 }], total_bytes: 3 * 1024 * 1024, free_bytes: 5 * 1024 ** 3 };
      }
      return null;
    });
    render(JobsView, { onOpen: () => {} });
    const { live } = await import('../../lib/live.svelte');
    await live.refreshJobs();

    const total = await screen.findByTestId('disk-usage');
    expect(total.textContent?.replace(/\s+/g, ' ').trim()).toBe('Job folders take 3.0 MiB, 5.0 GiB free on the disk');
    expect(screen.getByTestId('job-row-3').textContent).toContain('3.0 MiB');
    expect(screen.getByTestId('job-row-2').querySelector('.size')).toBeNull();
  });
});

function buttonsOf(row: HTMLElement): string[] {
  return [...row.querySelectorAll('button')].map((b) => b.textContent!.trim());
}
