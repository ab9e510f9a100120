//! A replica with a pinning service (Pinata, Filebase, …): a pin request
//! with our holders as `origins`, polled until `pinned` or `failed`.

use std::time::Instant;

use tank_ipfs::PinningServiceClient;

use super::Job;
use crate::nodes::Node;
use crate::stages::StepError;

pub(crate) async fn attempt(
    job: &Job<'_>,
    node: &Node,
    service: &PinningServiceClient,
    attempt: u32,
) -> Result<(), StepError> {
    let config = &job.stage.config.pinning;
    let origins = job.holders.origins(job.stage, attempt).await;
    let request = job
        .stage
        .recorder
        .call(
            node.name(),
            "service pin",
            attempt,
            service.add(job.cid, &job.name, &origins, config.attempt_timeout),
        )
        .await?;
    job.stage
        .recorder
        .call(node.name(), "service status", attempt, async {
            let started = Instant::now();
            let mut status = request;
            loop {
                match status.status.as_str() {
                    "pinned" => return Ok(()),
                    "failed" => {
                        let details = status
                            .info
                            .values()
                            .filter_map(|v| v.as_str())
                            .collect::<Vec<_>>()
                            .join("; ");
                        return Err(StepError::ServiceFailed(if details.is_empty() {
                            format!("request {}", status.requestid)
                        } else {
                            details
                        }));
                    }
                    _ if started.elapsed() > config.fetch_timeout => {
                        return Err(StepError::StillPending(
                            humantime::format_duration(config.fetch_timeout).to_string(),
                        ))
                    }
                    _ => {}
                }
                tokio::time::sleep(config.poll_interval).await;
                status = service
                    .status(&status.requestid, config.attempt_timeout)
                    .await?;
            }
        })
        .await
}

/// Whether the service still reports the CID pinned.
pub(crate) async fn is_pinned(
    job: &Job<'_>,
    node: &Node,
    service: &PinningServiceClient,
) -> Result<bool, StepError> {
    let timeout = job.stage.config.pinning.attempt_timeout;
    let requests = job
        .stage
        .recorder
        .call(
            node.name(),
            "service list",
            1,
            service.find(job.cid, timeout),
        )
        .await?;
    Ok(requests.iter().any(|r| r.status == "pinned"))
}
