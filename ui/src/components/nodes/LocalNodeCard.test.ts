// @vitest-environment jsdom
import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { LocalNodeAction, LocalNodeReport } from '../../bindings';
import { localNodeReport } from '../../test/fixtures';
import LocalNodeCard from './LocalNodeCard.svelte';

afterEach(() => {
  clearMocks();
  vi.useRealTimers();
});

const stopped = (overrides: Partial<LocalNodeReport> = {}) =>
  localNodeReport({ wanted_running: false, ...overrides }, { running: null });

/** The engine: `local_node` answers `state`; an action may change it; every command is recorded. */
function backend(state: LocalNodeReport | null, act: (action: LocalNodeAction) => LocalNodeReport | null = () => state) {
  const calls: [string, unknown][] = [];
  mockIPC((cmd, args) => {
    calls.push([cmd, args]);
    if (cmd === 'local_node') return state;
    if (cmd === 'local_node_action') state = act((args as { action: LocalNodeAction }).action);
    return null;
  });
  return calls;
}

function button(name: 'start' | 'stop' | 'restart'): HTMLButtonElement {
  return screen.getByTestId<HTMLButtonElement>(`local-node-${name}`);
}

describe('LocalNodeCard', () => {
  it('says how to turn the local node on when it is off', async () => {
    backend(null);
    render(LocalNodeCard);
    const card = await screen.findByTestId('local-node');
    expect(card.dataset.state).toBe('off');
    expect(card.textContent).toContain('The local node is off');
    expect(card.textContent).toContain('Settings');
    expect(within(card).queryAllByRole('button')).toEqual([]);
  });

  it('shows a running node: its process, addresses, peer id, kubo, repo, events and log', async () => {
    backend(
      localNodeReport({
        events: [
          { at: '2024-05-01T10:05:00Z', description: 'gave up after 5 crashes', alarm: true },
          { at: '2024-05-01T10:00:00Z', description: 'started (pid 4242)', alarm: false },
        ],
        log: ['Initializing daemon...', 'Daemon is ready'],
      }),
    );
    render(LocalNodeCard);
    const card = await screen.findByTestId('local-node');
    expect(card.dataset.state).toBe('running');
    const text = card.textContent ?? '';
    for (const fact of ['pid 4242', 'http://127.0.0.1:5001', '12D3KooWLocalPeer', '0.30.0', '/usr/local/bin/ipfs', '/data/ipfs']) {
      expect(text).toContain(fact);
    }
    expect(text).toContain('Repo 2.0 GiB of 10.0 GiB (20%)');
    expect(within(card).getByRole('button', { name: 'Copy peer id: 12D3KooWLocalPeer' })).toBeTruthy();

    const events = within(card).getAllByTestId('local-node-event');
    expect(events.map((event) => event.classList.contains('error-text'))).toEqual([true, false]);
    expect(events[0].textContent).toContain('gave up after 5 crashes');
    expect(within(card).getByTestId('local-node-log').textContent).toBe('Initializing daemon...\nDaemon is ready');

    // Running as wanted: only Stop and Restart change anything.
    expect([button('start').disabled, button('stop').disabled, button('restart').disabled]).toEqual([true, false, false]);
  });

  it('shows a stopped node with what keeps it from running', async () => {
    const problem = 'cannot run kubo at ipfs: not found. Install kubo (https://docs.ipfs.tech/install/command-line/) so that `ipfs` is on PATH, or set [local_node] binary to its path';
    backend(localNodeReport({ wanted_running: true }, { running: null, binary: null, version: null, problem }));
    render(LocalNodeCard);
    const card = await screen.findByTestId('local-node');
    expect(card.dataset.state).toBe('stopped');
    expect(within(card).getByText('stopped')).toBeTruthy();
    expect(screen.getByTestId('local-node-problem').textContent).toBe(problem);
    // Still wanted: Stop tells the supervisor to give up.
    expect([button('start').disabled, button('stop').disabled, button('restart').disabled]).toEqual([false, false, false]);
  });

  it('disables Stop when the operator stopped it', async () => {
    backend(stopped());
    render(LocalNodeCard);
    expect((await screen.findByTestId('local-node')).dataset.state).toBe('stopped');
    expect(screen.queryByTestId('local-node-problem')).toBeNull();
    expect([button('start').disabled, button('stop').disabled, button('restart').disabled]).toEqual([false, true, false]);
  });

  it('asks the engine for each action and shows its outcome at once', async () => {
    const calls = backend(localNodeReport(), (action) => (action === 'stop' ? stopped() : localNodeReport()));
    render(LocalNodeCard);
    const card = await screen.findByTestId('local-node');

    await fireEvent.click(button('stop'));
    await waitFor(() => expect(card.dataset.state).toBe('stopped'));
    expect(calls.slice(-2)).toEqual([
      ['local_node_action', { action: 'stop' }],
      ['local_node', {}],
    ]);

    await fireEvent.click(button('start'));
    await waitFor(() => expect(card.dataset.state).toBe('running'));
    await fireEvent.click(button('restart'));
    await waitFor(() => expect(calls.at(-1)).toEqual(['local_node', {}]));
    expect(calls.filter(([cmd]) => cmd === 'local_node_action').map(([, args]) => args)).toEqual([
      { action: 'stop' },
      { action: 'start' },
      { action: 'restart' },
    ]);
  });

  it('asks every 3 s while shown, and no more once gone', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const calls = backend(null);
    const polls = () => calls.filter(([cmd]) => cmd === 'local_node').length;
    const { unmount } = render(LocalNodeCard);
    await vi.advanceTimersByTimeAsync(0);
    expect(polls()).toBe(1);
    await vi.advanceTimersByTimeAsync(2_900);
    expect(polls()).toBe(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(polls()).toBe(2);
    await vi.advanceTimersByTimeAsync(6_000);
    expect(polls()).toBe(4);

    unmount();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(polls()).toBe(4);
  });
});
