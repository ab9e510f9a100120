import { describe, expect, it } from 'vitest';
import { settings } from '../test/fixtures';
import {
  backoffText,
  errorsAt,
  fromSettings,
  moveItem,
  newNodeDraft,
  parseBackoff,
  secretUpdates,
  toSettings,
  unplacedErrors,
} from './settingsForm';

describe('backoff', () => {
  it('reads and writes comma-separated durations', () => {
    expect(backoffText(['1s', '2s', '4s'])).toBe('1s, 2s, 4s');
    expect(parseBackoff(' 1s,2s ,, 1m 30s ,')).toEqual(['1s', '2s', '1m 30s']);
    expect(parseBackoff('')).toEqual([]);
  });
});

describe('toSettings', () => {
  it('gives back the settings the form was made from', () => {
    const original = settings({
      quorum: 2,
      nodes: [{ ...settings().nodes[1], tier: 3, gateway: 'https://gw.example' }],
      watch_folders: ['/videos/incoming', '/mnt/share/drop'],
      local_node: true,
    });
    const result = toSettings(fromSettings(original));
    expect(result).toEqual({ ok: true, value: original });
  });

  it('turns empty optional text into null', () => {
    const draft = fromSettings(settings());
    draft.nodes[1].username = '  ';
    draft.nodes[1].auth = 'none';
    draft.quorum = '';
    const result = toSettings(draft);
    if (!result.ok) throw new Error('expected valid settings');
    expect(result.value.nodes[1]).toMatchObject({ username: null, auth: null, tier: null });
    expect(result.value.quorum).toBeNull();
  });

  it('names every number that is not one, by its path', () => {
    const draft = fromSettings(settings());
    draft.nodes[1].tier = 'two';
    draft.retries = '';
    draft.max_concurrent = '-1';
    draft.rungs[0].video_kbps = '2.5k';
    const result = toSettings(draft);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.errors.map((e) => e.field)).toEqual(['nodes.1.tier', 'retries', 'max_concurrent', 'rungs.0.video_kbps']);
    expect(result.errors[0].message).toBe('"two" is not a whole number');
    expect(result.errors[1].message).toBe('enter a number');
  });
});

describe('secretUpdates', () => {
  it('sends only typed secrets, keyed by node or webhook name', () => {
    const draft = fromSettings(settings());
    draft.nodes[0].secret = 'hunter2';
    draft.nodes[1].name = ' renamed ';
    draft.nodes[1].secret = 'token';
    draft.alerts[0].secret = 'https://discord.example/hook';
    expect(secretUpdates(draft)).toEqual([
      { key: 'node:primary', value: 'hunter2' },
      { key: 'node:renamed', value: 'token' },
      { key: 'alert:ops', value: 'https://discord.example/hook' },
    ]);
  });

  it('sends nothing when nothing was typed (the keyring keeps its secrets)', () => {
    expect(secretUpdates(fromSettings(settings()))).toEqual([]);
  });

  it('never puts a secret into the settings', () => {
    const draft = fromSettings(settings());
    draft.nodes[0].secret = 'hunter2';
    expect(JSON.stringify(toSettings(draft))).not.toContain('hunter2');
  });
});

describe('field errors', () => {
  const draft = fromSettings(settings());
  const errors = [
    { field: 'nodes.1.api', message: 'must be an http(s) URL, not htp://' },
    { field: 'backoff.1', message: '"soon" is not a duration' },
    { field: 'retries', message: 'must be at least 1' },
    { field: 'nodes.7.name', message: 'a node that is gone' },
    { field: '', message: '2 nodes have role = "primary"; at most one may' },
    { field: 'watch_folders.0', message: '/nowhere is not a folder on this computer' },
    { field: 'watch_folders.1', message: 'a folder that is gone' },
  ];

  it('finds the errors of one input by its path', () => {
    expect(errorsAt(errors, 'nodes.1.api').map((e) => e.message)).toEqual(['must be an http(s) URL, not htp://']);
    expect(errorsAt(errors, 'nodes.0.api')).toEqual([]);
    expect(errorsAt(errors, 'backoff')).toEqual([]);
    expect(errorsAt(errors, 'backoff', true).map((e) => e.field)).toEqual(['backoff.1']);
  });

  it('leaves the errors no input shows for the banner', () => {
    expect(unplacedErrors(errors, draft).map((e) => e.field)).toEqual(['nodes.7.name', '', 'watch_folders.1']);
  });
});

describe('moveItem', () => {
  it('moves within bounds and refuses to move past the ends', () => {
    expect(moveItem(['a', 'b', 'c'], 0, 1)).toEqual(['b', 'a', 'c']);
    expect(moveItem(['a', 'b', 'c'], 2, 0)).toEqual(['c', 'a', 'b']);
    const list = ['a', 'b'];
    expect(moveItem(list, 0, -1)).toBe(list);
    expect(moveItem(list, 1, 2)).toBe(list);
  });
});

describe('new nodes', () => {
  it('start empty and each has its own key', () => {
    const a = newNodeDraft();
    const b = newNodeDraft();
    expect(a).toMatchObject({ name: '', api: '', kind: 'kubo', role: 'backup', auth: 'none', secret: '' });
    expect(a.key).not.toBe(b.key);
  });
});
