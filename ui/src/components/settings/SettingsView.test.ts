// @vitest-environment jsdom
import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { afterEach, describe, expect, it } from 'vitest';
import type { SecretUpdate, Settings } from '../../bindings';
import { settings } from '../../test/fixtures';
import SettingsView from './SettingsView.svelte';

afterEach(() => clearMocks());

type Saved = { settings: Settings; secrets: SecretUpdate[] };

/** The backend: `save` answers save_settings; every save is recorded. */
function backend(save: (args: Saved) => unknown): Saved[] {
  const saves: Saved[] = [];
  mockIPC((cmd, args) => {
    switch (cmd) {
      case 'get_settings':
        return settings();
      case 'launch_at_login':
        return false;
      case 'save_settings':
        saves.push(args as unknown as Saved);
        return save(args as unknown as Saved);
      default:
        return null;
    }
  });
  return saves;
}

function input(container: HTMLElement, field: string): HTMLInputElement {
  const element = container.querySelector<HTMLInputElement>(`[data-field="${field}"]`);
  if (!element) throw new Error(`no ${field} input`);
  return element;
}

describe('SettingsView', () => {
  it('shows a refused field next to its input', async () => {
    const saves = backend(() =>
      Promise.reject({
        code: 'invalid_settings',
        message: 'one setting is not valid; nothing was saved',
        fields: [{ field: 'nodes.1.api', message: 'must be an http(s) URL, not htp://' }],
      }),
    );
    render(SettingsView);
    const second = await screen.findByTestId('node-editor-1');
    await fireEvent.input(input(second, 'api'), { target: { value: 'htp:/nowhere' } });
    await fireEvent.click(screen.getByTestId('save-settings'));

    const error = await within(second).findByTestId('field-error');
    expect(error.dataset.field).toBe('nodes.1.api');
    expect(error.textContent).toBe('must be an http(s) URL, not htp://');
    // Next to the API input: in the same field as it.
    expect(error.closest('.field')?.querySelector('[data-field="api"]')).not.toBeNull();
    expect(within(screen.getByTestId('node-editor-0')).queryByTestId('field-error')).toBeNull();
    expect(screen.getByRole('alert').textContent).toContain('one setting is not valid; nothing was saved');
    expect(saves[0].settings.nodes[1].api).toBe('htp:/nowhere');
    expect(screen.queryByTestId('settings-saved')).toBeNull();
  });

  it('puts an error of the whole config at the top of the form', async () => {
    backend(() =>
      Promise.reject({
        code: 'invalid_settings',
        message: '2 nodes have role = "primary"; at most one may',
        fields: [{ field: '', message: '2 nodes have role = "primary"; at most one may' }],
      }),
    );
    render(SettingsView);
    await fireEvent.click(await screen.findByTestId('save-settings'));
    const error = await screen.findByTestId('field-error');
    expect(error.dataset.field).toBe('');
    expect(error.closest('[role="alert"]')).not.toBeNull();
  });

  it('saves typed secrets once, then shows Saved and clears them', async () => {
    const saves = backend(({ settings: sent }) => ({ ...sent, nodes: sent.nodes.map((n) => ({ ...n, has_secret: true })) }));
    render(SettingsView);
    const first = await screen.findByTestId('node-editor-0');
    await fireEvent.input(input(first, 'secret'), { target: { value: 'hunter2' } });
    await fireEvent.input(input(document.body, 'backoff'), { target: { value: '1s, 5s' } });
    await fireEvent.click(screen.getByTestId('save-settings'));

    await screen.findByTestId('settings-saved');
    expect(saves).toHaveLength(1);
    expect(saves[0].secrets).toEqual([{ key: 'node:primary', value: 'hunter2' }]);
    expect(saves[0].settings.backoff).toEqual(['1s', '5s']);
    expect(JSON.stringify(saves[0].settings)).not.toContain('hunter2');
    const secret = input(screen.getByTestId('node-editor-0'), 'secret');
    expect(secret.value).toBe('');
    expect(secret.placeholder).toBe('stored in keyring');
  });

  it('adds a node editor and checks numbers before asking the engine', async () => {
    const saves = backend(() => settings());
    render(SettingsView);
    await fireEvent.click(await screen.findByTestId('add-node'));
    const added = await screen.findByTestId('node-editor-2');
    await fireEvent.input(input(added, 'tier'), { target: { value: 'first' } });
    await fireEvent.click(screen.getByTestId('save-settings'));

    const error = await within(added).findByTestId('field-error');
    expect(error.dataset.field).toBe('nodes.2.tier');
    await waitFor(() => expect(saves).toHaveLength(0));
  });
});
