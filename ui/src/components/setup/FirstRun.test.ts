// @vitest-environment jsdom
import { fireEvent, render, screen, waitFor } from '@testing-library/svelte';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import FirstRun from './FirstRun.svelte';

afterEach(() => clearMocks());

/** The engine: `set_up` answers with `answer` (or throws it); every command is recorded. */
function backend(answer: () => unknown) {
  const calls: [string, unknown][] = [];
  mockIPC((cmd, args) => {
    calls.push([cmd, args]);
    if (cmd === 'set_up') return answer();
    return null;
  });
  return calls;
}

const status = () => ({ version: '0.1.0', paused: false, problem: null, first_run: false, config_path: '/c', data_dir: '/d' });

describe('FirstRun', () => {
  it('sets up a community encoder by default, with no key sent', async () => {
    const calls = backend(status);
    const onDone = vi.fn();
    render(FirstRun, { onDone });
    expect(screen.queryByTestId('direct-api-key')).toBeNull();
    await fireEvent.click(screen.getByTestId('first-run-start'));
    await waitFor(() => expect(onDone).toHaveBeenCalledOnce());
    expect(calls).toEqual([['set_up', { purpose: 'community', directApiKey: null }]]);
  });

  it('asks a managed encoder for its key and sends it only with the answer', async () => {
    const calls = backend(status);
    const onDone = vi.fn();
    render(FirstRun, { onDone });
    await fireEvent.click(screen.getByTestId('purpose-managed'));
    const key = screen.getByTestId<HTMLInputElement>('direct-api-key');
    expect(key.type).toBe('password');
    await fireEvent.input(key, { target: { value: 's3cret' } });
    await fireEvent.click(screen.getByTestId('first-run-start'));
    await waitFor(() => expect(onDone).toHaveBeenCalledOnce());
    expect(calls).toEqual([['set_up', { purpose: 'managed', directApiKey: 's3cret' }]]);
  });

  it('says why a set-up failed and stays, so the operator can choose again', async () => {
    backend(() => {
      throw { code: 'config', message: 'gateway identity: no keyring reachable', fields: [] };
    });
    const onDone = vi.fn();
    render(FirstRun, { onDone });
    await fireEvent.click(screen.getByTestId('purpose-local_only'));
    await fireEvent.click(screen.getByTestId('first-run-start'));
    const error = await screen.findByTestId('first-run-error');
    expect(error.textContent).toContain('no keyring reachable');
    expect(onDone).not.toHaveBeenCalled();
    expect(screen.getByTestId<HTMLButtonElement>('first-run-start').disabled).toBe(false);
  });
});
