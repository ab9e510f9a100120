// @vitest-environment jsdom
import { render, screen, within } from '@testing-library/svelte';
import { describe, expect, it } from 'vitest';
import type { GatewayStatus } from '../../bindings';
import { embedClaim, outboxEntry } from '../../test/fixtures';
import GatewayCard from './GatewayCard.svelte';

function embedStatus(overrides: Partial<GatewayStatus> = {}): GatewayStatus {
  return {
    enabled: true,
    url: 'https://embed.3speak.tv/',
    mode: 'embed',
    did: 'did:key:z6MkTest',
    identity: 'keyring',
    state: 'healthy',
    health: null,
    history: [],
    claims: [],
    encoder: { name: 'community-abc123', did: 'did:key:z6MkTest', tier: 'lite', access: 'community', enabled: true },
    encoder_seen_at: '2026-12-02T10:00:00Z',
    embed_jobs: [],
    outbox: [],
    ...overrides,
  };
}

const job = embedClaim();
const waiting = outboxEntry();

describe('GatewayCard', () => {
  it("shows the embed system's record of this encoder, its jobs and the reports still owed", () => {
    render(GatewayCard, { gateway: embedStatus({ embed_jobs: [job], outbox: [waiting] }) });
    const card = screen.getByTestId('gateway-card');
    expect(card.textContent).toContain('3Speak embed system');
    expect(screen.getByTestId('gateway-encoder').textContent).toContain('community-abc123');
    expect(screen.getByTestId('gateway-encoder').textContent).toContain('tier lite');
    const jobs = screen.getByTestId('embed-jobs');
    expect(jobs.textContent).toContain('alice/first');
    expect(jobs.textContent).toContain('#7 encoding');
    expect(jobs.textContent).toContain('40% sent');
    const row = within(screen.getByTestId('outbox')).getAllByRole('row')[1];
    expect(row.dataset.status).toBe('waiting');
    expect(row.textContent).toContain('complete');
    expect(row.textContent).toContain('4');
    expect(row.textContent).toContain('HTTP 503');
  });

  it('shows the latest heartbeat among the recent calls', () => {
    const call = (probe: string, at: string, ok: boolean, detail: string | null = null) => ({
      at,
      probe,
      ok,
      latency_ms: 42,
      detail,
      repo_size: null,
      storage_max: null,
    });
    render(GatewayCard, {
      gateway: embedStatus({
        history: [
          call('myJob', '2026-12-02T10:03:00Z', true),
          call('heartbeat', '2026-12-02T10:02:00Z', false, 'cannot reach 3Speak at https://embed.3speak.tv/: timed out'),
          call('heartbeat', '2026-12-02T10:01:00Z', true),
        ],
      }),
    });
    const heartbeat = screen.getByTestId('gateway-heartbeat');
    expect(heartbeat.dataset.ok).toBe('false');
    expect(heartbeat.textContent).toContain('timed out');
  });

  it('says loudly when 3Speak has disabled this encoder', () => {
    const status = embedStatus();
    status.encoder = { ...status.encoder!, enabled: false };
    render(GatewayCard, { gateway: status });
    expect(screen.getByTestId('gateway-encoder').textContent).toContain('disabled by 3Speak');
    expect(screen.queryByTestId('outbox')).toBeNull();
    expect(screen.getByTestId('gateway-card').textContent).toContain('No job taken yet');
  });
});
