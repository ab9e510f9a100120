//! `tank node`: the local IPFS node (kubo): status, start, stop, restart, logs.

use std::process::ExitCode;

use tank_daemon::Daemon;

use super::{print_json, success_if, Failure};
use crate::args::NodeAction;
use crate::render;

pub async fn run(daemon: &Daemon, action: NodeAction) -> Result<ExitCode, Failure> {
    let Some(local) = daemon.engine().local_node() else {
        return Err(Failure::Usage(
            "the local node is not enabled: set `enabled = true` under [local_node] in the config file".into(),
        ));
    };
    // Events are shown and recorded as the manager reports them.
    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel();
    let record = move |event| {
        let _ = sender.send(event);
    };
    let outcome = match action {
        NodeAction::Status { json } => {
            let status = local.status().await;
            let events = daemon.local_node().events(10)?;
            if json {
                print_json(
                    &serde_json::json!({ "status": status, "events": events.iter().map(|(at, e)| serde_json::json!({"at": at, "event": e, "description": e.describe()})).collect::<Vec<_>>() }),
                );
            } else {
                print!("{}", render::local_node(&status, &events));
            }
            return Ok(success_if(status.running.is_some()));
        }
        NodeAction::Logs { lines } => {
            for line in tank_node::log_tail(&local.log_path(), lines) {
                println!("{line}");
            }
            return Ok(ExitCode::SUCCESS);
        }
        NodeAction::Start => local.start(&record).await.map(drop),
        NodeAction::Stop => local.stop(&record).await,
        NodeAction::Restart => match local.stop(&record).await {
            Ok(()) => local.start(&record).await.map(drop),
            Err(e) => Err(e),
        },
    };
    // Closing the channel ends the loop below once every event is drained.
    drop(record);
    while let Some(event) = receiver.recv().await {
        eprintln!("local node: {}", event.describe());
        daemon.local_node().record(event).await;
    }
    outcome.map_err(|e| Failure::Runtime(e.to_string()))?;
    Ok(ExitCode::SUCCESS)
}
