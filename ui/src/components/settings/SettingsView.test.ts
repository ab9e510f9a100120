// @vitest-environment jsdom
import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { afterEach, describe, expect, it } from 'vitest';
import type { SecretUpdate, Settings } from '../../bindings';
import { settings } from '../../test/fixtures';
import SettingsView from './SettingsView.svelte';

afterEach(() => clearMocks());

type Saved = { settings: Settings; secrets: SecretUpdate[] };

/**
 * The backend: `save` answers save_settings; every save is recorded. The
 * folder picker answers `picked` (`null`: cancelled) and records how it was asked.
 */
function backend(
  save: (args: Saved) => unknown,
  { current = settings(), picked = null as string | null, pickers = [] as unknown[] } = {},
): Saved[] {
  const saves: Saved[] = [];
  mockIPC((cmd, args) => {
    switch (cmd) {
      case 'get_settings':
        return current;
      case 'plugin:dialog|open':
        pickers.push(args);
        return picked;
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
  it('turns on community and managed 3Speak work, the Direct API key going to the keyring only', async () => {
    const saves = backend(({ settings }) => settings);
    render(SettingsView);
    const section = await screen.findByTestId('threespeak-settings');
    expect(section.querySelector('[data-field="threespeak.url"]')).toBeNull();
    await fireEvent.change(input(section, 'threespeak.source'), { target: { value: 'community' } });
    await fireEvent.click(input(section, 'threespeak.direct_api'));
    await fireEvent.input(input(section, 'threespeak.direct_api_listen'), { target: { value: '0.0.0.0:3002' } });
    await fireEvent.input(input(section, 'threespeak.direct_api_key'), { target: { value: 'sesame' } });
    expect(input(section, 'threespeak.url').value).toBe('https://embed.3speak.tv/');
    await fireEvent.click(screen.getByTestId('save-settings'));

    await waitFor(() => expect(saves).toHaveLength(1));
    const saved = saves[0];
    expect(saved.settings.threespeak).toMatchObject({ source: 'community', direct_api: true, direct_api_listen: '0.0.0.0:3002' });
    expect(JSON.stringify(saved.settings)).not.toContain('sesame');
    expect(saved.secrets).toContainEqual({ key: 'direct-api', value: 'sesame' });
  });

  it('shows a refused Direct API key next to its input', async () => {
    backend(() =>
      Promise.reject({
        code: 'invalid_settings',
        message: 'one setting is not valid; nothing was saved',
        fields: [{ field: 'threespeak.direct_api_key', message: 'the Direct API needs a key: 3Speak calls with it' }],
      }),
    );
    render(SettingsView);
    const section = await screen.findByTestId('threespeak-settings');
    await fireEvent.click(input(section, 'threespeak.direct_api'));
    await fireEvent.click(screen.getByTestId('save-settings'));
    const error = await within(section).findByTestId('field-error');
    expect(error.textContent).toContain('needs a key');
    expect(error.closest('.field')?.querySelector('[data-field="threespeak.direct_api_key"]')).not.toBeNull();
  });

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

  it('adds a picked watch folder, removes one and saves the rest', async () => {
    const pickers: unknown[] = [];
    const saves = backend(({ settings: sent }) => sent, {
      current: settings({ watch_folders: ['/videos/incoming', '/videos/old'] }),
      picked: '/videos/new',
      pickers,
    });
    render(SettingsView);
    await fireEvent.click(await screen.findByTestId('add-watch-folder'));
    const added = await screen.findByTestId('watch-folder-2');
    expect(pickers).toEqual([{ options: { directory: true, multiple: false } }]);
    expect(input(added, 'watch_folders.2').value).toBe('/videos/new');

    await fireEvent.click(within(screen.getByTestId('watch-folder-0')).getByRole('button', { name: 'Remove watch folder 1' }));
    await waitFor(() => expect(screen.queryByTestId('watch-folder-2')).toBeNull());
    expect(input(screen.getByTestId('watch-folder-0'), 'watch_folders.0').value).toBe('/videos/old');

    await fireEvent.click(screen.getByTestId('save-settings'));
    await screen.findByTestId('settings-saved');
    expect(saves[0].settings.watch_folders).toEqual(['/videos/old', '/videos/new']);
  });

  it('adds nothing when the folder picker is cancelled', async () => {
    const pickers: unknown[] = [];
    backend(() => settings(), { picked: null, pickers });
    render(SettingsView);
    await fireEvent.click(await screen.findByTestId('add-watch-folder'));
    await waitFor(() => expect(pickers).toHaveLength(1));
    expect(screen.getByTestId('watch-folder-0')).toBeTruthy();
    expect(screen.queryByTestId('watch-folder-1')).toBeNull();
  });

  it('shows a refused watch folder next to its row', async () => {
    backend(
      () =>
        Promise.reject({
          code: 'invalid_settings',
          message: 'one setting is not valid; nothing was saved',
          fields: [{ field: 'watch_folders.1', message: '/mnt/gone is not a folder on this computer' }],
        }),
      { current: settings({ watch_folders: ['/videos/incoming', '/mnt/gone'] }) },
    );
    render(SettingsView);
    await fireEvent.click(await screen.findByTestId('save-settings'));

    const row = screen.getByTestId('watch-folder-1');
    const error = await within(row).findByTestId('field-error');
    expect(error.dataset.field).toBe('watch_folders.1');
    expect(error.textContent).toBe('/mnt/gone is not a folder on this computer');
    expect(within(screen.getByTestId('watch-folder-0')).queryByTestId('field-error')).toBeNull();
    // Shown by its row, not again at the top.
    expect(within(screen.getByRole('alert')).queryByTestId('field-error')).toBeNull();
  });

  it('saves the local node switch', async () => {
    const saves = backend(({ settings: sent }) => sent);
    render(SettingsView);
    const checkbox = await screen.findByRole<HTMLInputElement>('checkbox', { name: 'Run a local IPFS node (kubo)' });
    expect(checkbox.checked).toBe(false);
    await fireEvent.click(checkbox);
    await fireEvent.click(screen.getByTestId('save-settings'));

    await screen.findByTestId('settings-saved');
    expect(saves[0].settings.local_node).toBe(true);
    expect(checkbox.checked).toBe(true);
  });
});
