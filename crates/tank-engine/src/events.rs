//! The engine's event channel: typed [`JobEvent`]s on a broadcast channel,
//! for whoever watches (the CLI's progress line, the desktop window).

use tank_model::JobEvent;
use tokio::sync::broadcast;

/// Sends events to whoever is watching; nobody watching is fine.
#[derive(Debug, Clone)]
pub struct Events {
    sender: broadcast::Sender<JobEvent>,
}

impl Events {
    pub fn new() -> Events {
        Events {
            sender: broadcast::channel(1024).0,
        }
    }

    pub fn send(&self, event: JobEvent) {
        let _ = self.sender.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<JobEvent> {
        self.sender.subscribe()
    }
}

impl Default for Events {
    fn default() -> Self {
        Self::new()
    }
}
