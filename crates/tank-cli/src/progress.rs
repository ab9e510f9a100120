//! Live progress on stderr while a job runs: state changes and failed
//! calls as lines; encode progress as one updating line on a terminal.

use std::io::{IsTerminal, Write};
use std::time::Instant;

use tank_model::{JobEvent, JobId};
use tokio::sync::broadcast;
use tokio::task::JoinHandle;

pub fn watch(mut events: broadcast::Receiver<JobEvent>, job: JobId) -> JoinHandle<()> {
    tokio::spawn(async move {
        let terminal = std::io::stderr().is_terminal();
        let started = Instant::now();
        let mut last_step = -1i64;
        loop {
            let event = match events.recv().await {
                Ok(event) => event,
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return,
            };
            match event {
                JobEvent::State {
                    job: j,
                    state,
                    detail,
                } if j == job => {
                    clear_line();
                    match detail {
                        Some(detail) => eprintln!("job {job}: {state}: {detail}"),
                        None => eprintln!("job {job}: {state}"),
                    }
                }
                JobEvent::Attempt { job: j, attempt } if j == job && !attempt.ok => {
                    clear_line();
                    eprintln!(
                        "job {job}:   {} {} attempt {} failed after {} ms: {}",
                        attempt.node,
                        attempt.op,
                        attempt.attempt,
                        attempt.ms,
                        attempt.error.unwrap_or_default()
                    );
                }
                JobEvent::Encode { job: j, progress } if j == job => {
                    let Some(percent) = progress.percent else {
                        continue;
                    };
                    let eta = if percent > 0.5 {
                        let secs = started.elapsed().as_secs_f64() * (100.0 - percent) / percent;
                        format!(", about {}s left", secs.round())
                    } else {
                        String::new()
                    };
                    let line = format!(
                        "job {job}: encoding {percent:5.1}%  {:.0} fps  {:.2}x{eta}",
                        progress.fps, progress.speed
                    );
                    if terminal {
                        eprint!("\r\x1b[2K{line}");
                        let _ = std::io::stderr().flush();
                    } else if (percent / 25.0) as i64 > last_step {
                        last_step = (percent / 25.0) as i64;
                        eprintln!("{line}");
                    }
                }
                JobEvent::Download {
                    job: j,
                    bytes,
                    total,
                } if j == job && terminal => {
                    let of = total
                        .map(|t| format!(" of {} MB", t / 1_000_000))
                        .unwrap_or_default();
                    eprint!(
                        "\r\x1b[2Kjob {job}: downloaded {} MB{of}",
                        bytes / 1_000_000
                    );
                    let _ = std::io::stderr().flush();
                }
                _ => {}
            }
        }
    })
}

/// Ends an updating progress line, if one is showing.
pub fn clear_line() {
    if std::io::stderr().is_terminal() {
        eprint!("\r\x1b[2K");
    }
}
