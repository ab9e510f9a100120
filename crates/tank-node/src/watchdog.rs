//! The resource watchdog: the daemon's CPU and resident memory, sampled on
//! an interval. CPU counts only when it stays above its limit for
//! `cpu_sustained` (a busy minute is normal); memory counts at once.

use std::time::{Duration, Instant};

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

use crate::LocalNodeConfig;

pub(crate) struct Watchdog {
    /// `None` where the platform's processes cannot be read: no watchdog.
    system: Option<System>,
    pid: Option<u32>,
    cpu_over_since: Option<Instant>,
}

impl Watchdog {
    pub fn new() -> Watchdog {
        Watchdog {
            system: System::new().ok(),
            pid: None,
            cpu_over_since: None,
        }
    }

    /// Samples `pid`; the reason when it is running away.
    pub fn check(&mut self, pid: u32, config: &LocalNodeConfig) -> Option<String> {
        if self.pid != Some(pid) {
            // A new daemon: its CPU is measured from its first sample on.
            self.pid = Some(pid);
            self.cpu_over_since = None;
        }
        let id = Pid::from_u32(pid);
        let system = self.system.as_mut()?;
        system.refresh_processes_specifics(
            ProcessesToUpdate::Some(&[id]),
            true,
            ProcessRefreshKind::nothing().with_cpu().with_memory(),
        );
        let process = system.process(id)?;
        let (cpu, rss_mib) = (process.cpu_usage(), process.memory() / (1024 * 1024));
        if rss_mib > config.rss_limit_mib {
            return Some(format!(
                "resident memory {rss_mib} MiB, over the limit of {} MiB",
                config.rss_limit_mib
            ));
        }
        if cpu <= config.cpu_limit_percent {
            self.cpu_over_since = None;
            return None;
        }
        let since = *self.cpu_over_since.get_or_insert_with(Instant::now);
        let sustained: Duration = *config.cpu_sustained;
        (since.elapsed() >= sustained).then(|| {
            format!(
                "CPU at {cpu:.0}% for {}, over the limit of {:.0}%",
                humantime::format_duration(Duration::from_secs(since.elapsed().as_secs())),
                config.cpu_limit_percent
            )
        })
    }
}
