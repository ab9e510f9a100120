//! Reports for people: aligned, short, everything that matters.

use std::fmt::Write;

use tank_engine::{JobReport, JobState, JobSummary, NodeStatus};

pub fn job(report: &JobReport) -> String {
    let mut out = String::new();
    let mark = match report.state {
        JobState::Done => "✔",
        JobState::Failed => "✘",
        _ => "…",
    };
    let _ = writeln!(out, "job {}  {} {}", report.id, mark, report.state);
    let _ = writeln!(out, "  input      {}", report.input);
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
            .map(|r| format!("{} (verified {})", r.node, r.verified_at))
            .collect();
        let _ = writeln!(out, "  replicas   {}", replicas.join(", "));
    }
    if let Some(error) = &report.error {
        let _ = writeln!(out, "  error      {error}");
        let retry = if report.retryable == Some(true) {
            format!("yes: `tank retry {}` once the nodes are back", report.id)
        } else {
            "no: the input itself is the problem".to_owned()
        };
        let _ = writeln!(out, "  retryable  {retry}");
    }
    if !report.attempts.is_empty() {
        let _ = writeln!(out, "  attempts");
        let width = report
            .attempts
            .iter()
            .map(|a| a.node.len())
            .max()
            .unwrap_or(4)
            .max(4);
        let _ = writeln!(
            out,
            "    {:width$}  {:13}  {:>2}  {:6}  {:>7}  error",
            "node", "op", "#", "result", "ms"
        );
        for a in &report.attempts {
            let result = if a.ok { "ok" } else { "failed" };
            let _ = writeln!(
                out,
                "    {:width$}  {:13}  {:>2}  {:6}  {:>7}  {}",
                a.node,
                a.op,
                a.attempt,
                result,
                a.ms,
                a.error.as_deref().unwrap_or("")
            );
        }
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

pub fn nodes(nodes: &[NodeStatus]) -> String {
    if nodes.is_empty() {
        return "no IPFS nodes configured: add [[nodes]] to the config file\n".to_owned();
    }
    let mut out = String::new();
    let width = nodes.iter().map(|n| n.name.len()).max().unwrap_or(4).max(4);
    for node in nodes {
        let role = format!("{:?}", node.role).to_lowercase();
        let state = if node.reachable {
            format!(
                "up    kubo {} in {} ms",
                node.version.as_deref().unwrap_or("?"),
                node.latency_ms.unwrap_or(0)
            )
        } else {
            format!("DOWN  {}", node.error.as_deref().unwrap_or(""))
        };
        let _ = writeln!(
            out,
            "{:width$}  {:7}  {}  {}",
            node.name, role, node.api, state
        );
    }
    out
}
