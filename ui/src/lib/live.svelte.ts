// What the window knows about the engine, kept current by its events: the
// app status, the jobs list, downloads in flight and the nodes. Views read
// it; a slow poll is only a safety net for events missed (e.g. while the
// engine restarts after Settings are saved).

import type { AppStatus, DiskUsage, JobEvent, JobSummary, NodeReport } from '../bindings';
import * as api from './api';
import { applyDownloadEvent, applyJobEvent, reconcileJobs, type DownloadProgress } from './jobs';
import { applyNodeHealth } from './nodes';
import { notice } from './notice.svelte';

/** Slow refresh of the jobs list and status while the window is shown. */
const SAFETY_POLL_MS = 10_000;
/** State events come in bursts (one per stage); one list refresh covers a burst. */
const REFRESH_DELAY_MS = 400;

type Listener = (event: JobEvent) => void;

class Live {
  // Raw: lists are replaced whole (see jobs.ts), so no deep proxies over
  // a thousand jobs.
  status = $state.raw<AppStatus | null>(null);
  jobs = $state.raw<JobSummary[]>([]);
  jobsLoaded = $state(false);
  downloads = $state.raw<ReadonlyMap<number, DownloadProgress>>(new Map());
  /** What the job folders take; `null` until known. */
  disk = $state.raw<DiskUsage | null>(null);
  /** `null` until the first node reports arrive. */
  nodes = $state.raw<NodeReport[] | null>(null);

  #listeners = new Set<Listener>();
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;
  #nodesInFlight: Promise<void> | null = null;

  /** Starts following the engine; returns a function that stops the polling. */
  start(): () => void {
    api.watchEvents((event) => this.#handle(event)).catch(notice.report);
    // The status first: with a config problem, the banner says why jobs
    // and nodes cannot be listed, once.
    void this.refreshStatus().then(() => {
      void this.refreshJobs();
      void this.refreshNodes();
    });
    const poll = setInterval(() => {
      if (document.visibilityState === 'hidden') return;
      void this.refreshStatus();
      void this.refreshJobs();
    }, SAFETY_POLL_MS);
    return () => {
      clearInterval(poll);
      clearTimeout(this.#refreshTimer);
    };
  }

  /** Calls `listener` with every event until the returned function is called. */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  async refreshStatus(): Promise<void> {
    try {
      this.status = await api.appStatus();
    } catch (error) {
      notice.report(error);
    }
  }

  async refreshJobs(): Promise<void> {
    // Folders grow and go with the jobs: measured whenever they are listed.
    void this.refreshDisk();
    try {
      this.jobs = reconcileJobs(this.jobs, await api.listJobs());
    } catch (error) {
      // Without an engine (a config problem) there are no jobs to show;
      // the status banner says why.
      if (!this.status?.problem) notice.report(error);
    } finally {
      this.jobsLoaded = true;
    }
  }

  async refreshDisk(): Promise<void> {
    try {
      this.disk = await api.diskUsage();
    } catch {
      // Only a figure: the jobs list reports what is wrong.
    }
  }

  /** Node reports can take seconds (a hung node); concurrent callers share one call. */
  refreshNodes(): Promise<void> {
    this.#nodesInFlight ??= api
      .nodeReports()
      .then((nodes) => {
        this.nodes = nodes;
      })
      .catch((error) => {
        if (!this.status?.problem) notice.report(error);
        this.nodes ??= [];
      })
      .finally(() => {
        this.#nodesInFlight = null;
      });
    return this.#nodesInFlight;
  }

  async setPaused(paused: boolean): Promise<void> {
    try {
      this.status = await api.setPaused(paused);
    } catch (error) {
      notice.report(error);
    }
  }

  /** Queues inputs; the new ids, or none when the engine refused (the banner says why). */
  async addJobs(inputs: string[]): Promise<number[]> {
    try {
      const ids = await api.addJobs(inputs);
      await this.refreshJobs();
      return ids;
    } catch (error) {
      notice.report(error);
      return [];
    }
  }

  #handle(event: JobEvent): void {
    if (event.kind === 'node_health') {
      if (this.nodes) this.nodes = applyNodeHealth(this.nodes, event);
    } else {
      // Events carry no CID or retryability, and a job made elsewhere (by
      // `tank`, the gateway) is not in the list yet: after the quick local
      // update, a state change brings the whole list up to date.
      if (event.kind === 'state') this.#refreshSoon();
      this.jobs = applyJobEvent(this.jobs, event, new Date());
      this.downloads = applyDownloadEvent(this.downloads, event);
    }
    for (const listener of this.#listeners) listener(event);
  }

  #refreshSoon(): void {
    clearTimeout(this.#refreshTimer);
    this.#refreshTimer = setTimeout(() => void this.refreshJobs(), REFRESH_DELAY_MS);
  }
}

export const live = new Live();
