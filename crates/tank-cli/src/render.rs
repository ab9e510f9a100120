//! Reports for people: aligned, short, everything that matters.

use std::fmt::Write;

use tank_daemon::{GatewayStatus, NodeReport};
use tank_model::{
    AuditRecord, EmbedClaim, GatewayClaim, HealthState, JobAttempt, JobReport, JobState,
    JobSummary, OutboxEntry,
};

pub fn job(report: &JobReport) -> String {
    let mut out = String::new();
    let mark = match report.state {
        JobState::Done => "✔",
        JobState::Failed | JobState::Cancelled => "✘",
        JobState::AwaitingReplicas | JobState::AwaitingRetry => "⏸",
        _ => "…",
    };
    let _ = writeln!(out, "job {}  {} {}", report.id, mark, report.state);
    let _ = writeln!(out, "  input      {}", report.input);
    if let Some(claim) = &report.gateway {
        let _ = writeln!(out, "  gateway    {}", claim_line(claim));
    }
    if let Some(cid) = &report.cid {
        let _ = writeln!(out, "  cid        {cid}");
        let _ = writeln!(out, "  play       ipfs://{cid}/manifest.m3u8");
    }
    if let Some(dir) = &report.output_dir {
        let _ = writeln!(out, "  output     {dir}");
    }
    if !report.rendition_sizes.is_empty() {
        let rungs: Vec<String> = report
            .rendition_sizes
            .iter()
            .map(|r| format!("{} ({}x{})", r.name, r.width, r.height))
            .collect();
        let encoder = report.encoder.as_deref().unwrap_or("?");
        let _ = writeln!(out, "  renditions {}  [{encoder}]", rungs.join(", "));
    }
    if !report.replicas.is_empty() {
        let replicas: Vec<String> = report
            .replicas
            .iter()
            .map(|r| format!("{} (verified {})", r.replica, r.verified_at))
            .collect();
        let _ = writeln!(out, "  replicas   {}", replicas.join(", "));
    }
    if let Some(error) = &report.error {
        let _ = writeln!(out, "  error      {error}");
        let retry = match (report.state, report.retryable) {
            (JobState::AwaitingReplicas, _) => {
                "waiting: `tank daemon` keeps trying and finishes it when nodes come back"
                    .to_owned()
            }
            (JobState::AwaitingRetry, _) => format!(
                "waiting: its stage runs again at {} (`tank daemon`, or `tank resume`)",
                report
                    .next_try_at
                    .as_deref()
                    .unwrap_or("the end of its backoff")
            ),
            (JobState::Cancelled, _) => "no: it was cancelled".to_owned(),
            (_, Some(true)) => format!("yes: `tank retry {}` once the nodes are back", report.id),
            _ => "no: the input itself is the problem".to_owned(),
        };
        let _ = writeln!(out, "  retryable  {retry}");
    }
    if !report.audits.is_empty() {
        let _ = writeln!(out, "  audits");
        for audit in &report.audits {
            let _ = writeln!(
                out,
                "    {}  {}  {:?}",
                audit.at, audit.replica, audit.outcome
            );
        }
    }
    if !report.attempts.is_empty() {
        let _ = writeln!(out, "  attempts");
        out.push_str(&attempt_table(
            report.attempts.iter().map(|a| (None, a)),
            "    ",
        ));
    }
    out
}

pub fn jobs(jobs: &[JobSummary]) -> String {
    if jobs.is_empty() {
        return "no jobs yet: `tank encode <file or URL>` starts one\n".to_owned();
    }
    let mut out = String::new();
    let _ = writeln!(out, "{:>5}  {:11}  {:46}  input", "id", "state", "cid");
    for job in jobs {
        let _ = writeln!(
            out,
            "{:>5}  {:11}  {:46}  {}",
            job.id,
            job.state.as_str(),
            job.cid.as_deref().unwrap_or("-"),
            job.input
        );
    }
    out
}

/// Attempts as an aligned table, optionally with their job.
fn attempt_table<'a>(
    rows: impl Iterator<Item = (Option<i64>, &'a tank_model::Attempt)> + Clone,
    indent: &str,
) -> String {
    let mut out = String::new();
    let width = rows
        .clone()
        .map(|(_, a)| a.node.len())
        .max()
        .unwrap_or(4)
        .max(4);
    let with_job = rows.clone().any(|(job, _)| job.is_some());
    let job_column = |job: Option<i64>| {
        if with_job {
            format!("{:>5}  ", job.map(|j| j.to_string()).unwrap_or_default())
        } else {
            String::new()
        }
    };
    let header = if with_job {
        format!("{:>5}  ", "job")
    } else {
        String::new()
    };
    let _ = writeln!(
        out,
        "{indent}{header}{:width$}  {:14}  {:>2}  {:6}  {:>7}  error",
        "node", "op", "#", "result", "ms"
    );
    for (job, a) in rows {
        let result = if a.ok {
            "ok"
        } else if a.attempt == 0 {
            "skip"
        } else {
            "failed"
        };
        let _ = writeln!(
            out,
            "{indent}{}{:width$}  {:14}  {:>2}  {:6}  {:>7}  {}",
            job_column(job),
            a.node,
            a.op,
            a.attempt,
            result,
            a.ms,
            a.error.as_deref().unwrap_or("")
        );
    }
    out
}

pub fn attempts(attempts: &[JobAttempt]) -> String {
    if attempts.is_empty() {
        return "no attempts recorded\n".to_owned();
    }
    attempt_table(attempts.iter().map(|a| (Some(a.job), &a.attempt)), "")
}

pub fn audits(records: &[AuditRecord]) -> String {
    if records.is_empty() {
        return "nothing to audit: no finished jobs\n".to_owned();
    }
    let mut out = String::new();
    for record in records {
        let _ = writeln!(
            out,
            "job {:>5}  {:24}  {:9}  {}",
            record.job,
            record.replica,
            format!("{:?}", record.outcome).to_lowercase(),
            record.detail.as_deref().unwrap_or("")
        );
    }
    out
}

pub fn nodes(nodes: &[NodeReport]) -> String {
    if nodes.is_empty() {
        return "no IPFS nodes configured: add [[nodes]] to the config file\n".to_owned();
    }
    let mut out = String::new();
    let width = nodes
        .iter()
        .map(|n| n.now.name.len())
        .max()
        .unwrap_or(4)
        .max(4);
    for node in nodes {
        let now = &node.now;
        let kind = format!("{:?}", now.kind).to_lowercase();
        let role = format!("{:?}", now.role).to_lowercase();
        let answer = if now.reachable {
            format!(
                "up {} ms{}",
                now.latency_ms.unwrap_or(0),
                now.version
                    .as_deref()
                    .map(|v| format!(", version {v}"))
                    .unwrap_or_default()
            )
        } else {
            format!("DOWN: {}", now.error.as_deref().unwrap_or(""))
        };
        let since = node
            .health
            .as_ref()
            .and_then(|h| h.since.as_deref())
            .map(|s| format!(" since {s}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{:width$}  {:15}  {:7}  tier {}  {}  [{}{since}]  {answer}",
            now.name,
            kind,
            role,
            now.tier,
            now.api,
            if node.state == HealthState::Unknown {
                "unmonitored"
            } else {
                node.state.as_str()
            }
        );
    }
    out
}

/// `tank gateway`.
pub fn gateway(status: &GatewayStatus) -> String {
    let mut out = String::new();
    let enabled = if status.enabled {
        "enabled"
    } else {
        "disabled ([gateway] enabled = false)"
    };
    let _ = writeln!(out, "gateway   {}  {enabled}", status.url);
    let _ = writeln!(out, "  mode      {:?}", status.mode);
    match (&status.did, status.identity) {
        (Some(did), Some(source)) => {
            let _ = writeln!(out, "  identity  {did}  ({source:?})");
        }
        _ => {
            let _ = writeln!(out, "  identity  none readable (`tank identity` says why)");
        }
    }
    let since = status
        .health
        .as_ref()
        .and_then(|h| h.since.as_deref())
        .map(|s| format!(" since {s}"))
        .unwrap_or_default();
    let _ = writeln!(out, "  state     {}{since}", status.state);
    if let Some(last) = status.history.first() {
        let outcome = match (&last.detail, last.ok) {
            (Some(detail), false) => format!("failed: {detail}"),
            _ => format!("{} ms", last.latency_ms.unwrap_or(0)),
        };
        let _ = writeln!(out, "  last call {} {} {outcome}", last.at, last.probe);
    }
    if let Some(encoder) = &status.encoder {
        let access = if encoder.enabled {
            "enabled"
        } else {
            "DISABLED by 3Speak"
        };
        let seen = status.encoder_seen_at.as_deref().unwrap_or("?");
        let _ = writeln!(
            out,
            "  encoder   {}  tier {}, access {}, {access} (as of {seen})",
            encoder.name, encoder.tier, encoder.access
        );
    }
    if !status.claims.is_empty() {
        let _ = writeln!(out, "  jobs");
        for claim in &status.claims {
            let _ = writeln!(out, "    {}", claim_line(claim));
        }
    }
    if !status.embed_jobs.is_empty() {
        let _ = writeln!(out, "  jobs");
        for job in &status.embed_jobs {
            let _ = writeln!(out, "    {}", embed_line(job));
        }
    }
    if !status.outbox.is_empty() {
        let _ = writeln!(out, "  reports");
        for entry in &status.outbox {
            let _ = writeln!(out, "    {}", outbox_line(entry));
        }
    }
    out
}

/// An embed job in one line: its video, our job, where it stands.
fn embed_line(job: &EmbedClaim) -> String {
    let state = job.job_state.map(|s| s.to_string()).unwrap_or_default();
    let standing = match (&job.closed_at, &job.progress_error) {
        (Some(_), _) => "closed".to_owned(),
        (None, Some(error)) => format!("open, last progress failed: {error}"),
        (None, None) => match job.last_progress {
            Some(percent) => format!("open, progress {percent}% sent"),
            None => "open".to_owned(),
        },
    };
    format!(
        "{}/{}  job {} ({state})  {}  {standing}",
        job.video.owner,
        job.video.permlink,
        job.job_id,
        job.video.via.as_str()
    )
}

/// A report owed to a webhook in one line.
fn outbox_line(entry: &OutboxEntry) -> String {
    let tries = match entry.tries {
        1 => "1 try".to_owned(),
        n => format!("{n} tries"),
    };
    let detail = match (&entry.answer, &entry.last_error) {
        (Some(answer), _) => format!(": {answer}"),
        (None, Some(error)) => format!(", last error: {error}"),
        (None, None) => String::new(),
    };
    format!(
        "{}/{}  {}  {}, {tries}{detail}",
        entry.owner,
        entry.permlink,
        entry.status_reported,
        entry.status.as_str()
    )
}

/// A gateway job in one line: its id, our job, where it stands.
fn claim_line(claim: &GatewayClaim) -> String {
    let local = claim
        .job_id
        .map(|id| format!("job {id}"))
        .unwrap_or_else(|| "no job".into());
    let state = claim
        .job_state
        .map(|s| format!(" ({s})"))
        .unwrap_or_default();
    let answer = claim
        .answer
        .as_deref()
        .map(|a| format!(": {a}"))
        .unwrap_or_default();
    format!(
        "{}  {local}{state}  {}{answer}",
        claim.gateway_id,
        claim.phase.as_str()
    )
}

pub fn local_node(
    status: &tank_node::LocalStatus,
    events: &[(String, tank_node::NodeEvent)],
) -> String {
    let mut out = String::new();
    match &status.running {
        Some(running) => {
            let _ = writeln!(out, "local node  running (pid {})", running.pid);
            let _ = writeln!(out, "  api       {}", running.api);
            if let Some(gateway) = &running.gateway {
                let _ = writeln!(out, "  gateway   {gateway}");
            }
            let _ = writeln!(out, "  peer      {}", running.peer_id);
        }
        None => {
            let _ = writeln!(out, "local node  not running (`tank node start`)");
        }
    }
    let kubo = match (&status.binary, &status.version, &status.problem) {
        (Some(path), Some(version), _) => format!("{version} at {path}"),
        (_, _, Some(problem)) => problem.clone(),
        _ => "not found".into(),
    };
    let _ = writeln!(out, "  kubo      {kubo}");
    let _ = writeln!(out, "  repo      {}", status.repo);
    if let (Some(size), Some(max)) = (status.repo_size, status.storage_max) {
        let _ = writeln!(
            out,
            "  usage     {} MB of {} MB",
            size / 1_000_000,
            max / 1_000_000
        );
    }
    let _ = writeln!(out, "  log       {}", status.log);
    if !events.is_empty() {
        let _ = writeln!(out, "  recent");
        for (at, event) in events {
            let _ = writeln!(out, "    {at}  {}", event.describe());
        }
    }
    out
}
