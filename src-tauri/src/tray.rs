//! The tray icon: its colour is the overall health (green healthy, amber
//! degraded, red a node down, grey paused or not configured), its menu
//! shows the current job's progress and offers open, pause/resume, logs and
//! quit. Closing the window leaves the app here, still encoding.

use tank_daemon::Daemon;
use tank_model::{HealthState, JobState, JobSummary};
use tauri::image::Image;
use tauri::menu::{Menu, MenuEvent, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, Wry};
use tauri_plugin_opener::OpenerExt;

use crate::runtime::Runtime;

const TRAY: &str = "main";
const ICON_SIZE: u32 = 32;

/// The menu's items, by the id their events carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    Open,
    Pause,
    Logs,
    Quit,
}

impl Item {
    const ALL: [Item; 4] = [Item::Open, Item::Pause, Item::Logs, Item::Quit];

    fn id(self) -> &'static str {
        match self {
            Item::Open => "open",
            Item::Pause => "pause",
            Item::Logs => "logs",
            Item::Quit => "quit",
        }
    }
}

/// The items whose text changes.
struct TrayMenu {
    current: MenuItem<Wry>,
    pause: MenuItem<Wry>,
}

/// What the tray shows, worked out from the engine.
#[derive(Debug, Clone, PartialEq)]
pub struct Overview {
    pub health: Health,
    /// "Job 3: encoding 45%", "1 waiting to retry", or "Idle".
    pub current: String,
    pub paused: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Health {
    Healthy,
    Degraded,
    Down,
    Off,
}

impl Health {
    fn rgb(self) -> [u8; 3] {
        match self {
            Health::Healthy => [0x2e, 0x9e, 0x5b],
            Health::Degraded => [0xe0, 0xa1, 0x00],
            Health::Down => [0xd6, 0x45, 0x45],
            Health::Off => [0x8a, 0x8f, 0x98],
        }
    }
}

pub fn create(app: &AppHandle) -> tauri::Result<()> {
    let current = MenuItem::with_id(app, "current", "Idle", false, None::<&str>)?;
    let items: Vec<MenuItem<Wry>> = Item::ALL
        .iter()
        .map(|item| {
            let text = match item {
                Item::Open => "Open Tank Encoder",
                Item::Pause => "Pause encoding",
                Item::Logs => "Open logs",
                Item::Quit => "Quit",
            };
            MenuItem::with_id(app, item.id(), text, true, None::<&str>)
        })
        .collect::<tauri::Result<_>>()?;
    let separator = PredefinedMenuItem::separator(app)?;
    let menu = Menu::with_items(
        app,
        &[
            &current, &separator, &items[0], &items[1], &items[2], &items[3],
        ],
    )?;
    TrayIconBuilder::with_id(TRAY)
        .icon(dot(Health::Off))
        .tooltip("Tank Encoder")
        .menu(&menu)
        .show_menu_on_left_click(true)
        .on_menu_event(on_menu)
        .build(app)?;
    app.manage(TrayMenu {
        current,
        pause: items[1].clone(),
    });
    refresh(app);
    Ok(())
}

fn on_menu(app: &AppHandle, event: MenuEvent) {
    let Some(item) = Item::ALL.into_iter().find(|i| event.id == i.id()) else {
        return;
    };
    match item {
        Item::Open => crate::window::open(app),
        Item::Pause => {
            if let Ok(engine) = app.state::<Runtime>().engine() {
                engine.pause_all(!engine.is_paused());
            }
            refresh(app);
        }
        Item::Logs => {
            let logs = crate::logs_dir(&app.state::<Runtime>().paths().data_dir);
            if let Err(e) = app
                .opener()
                .open_path(logs.display().to_string(), None::<&str>)
            {
                tracing::warn!(%e, "cannot open the log folder");
            }
        }
        Item::Quit => crate::quit(app),
    }
}

/// Redraws the tray from the engine's current state.
pub fn refresh(app: &AppHandle) {
    let overview = match app.state::<Runtime>().daemon() {
        Ok(daemon) => overview(&daemon),
        Err(_) => Overview {
            health: Health::Off,
            current: "Not configured".into(),
            paused: false,
        },
    };
    if let Some(tray) = app.tray_by_id(TRAY) {
        let shown = if overview.paused {
            Health::Off
        } else {
            overview.health
        };
        let _ = tray.set_icon(Some(dot(shown)));
        let _ = tray.set_tooltip(Some(format!("Tank Encoder: {}", overview.current)));
    }
    if let Some(menu) = app.try_state::<TrayMenu>() {
        let _ = menu.current.set_text(&overview.current);
        let _ = menu.pause.set_text(match overview.paused {
            true => "Resume encoding",
            false => "Pause encoding",
        });
    }
}

pub fn overview(daemon: &Daemon) -> Overview {
    let engine = daemon.engine();
    let health = daemon
        .health()
        .monitored_health()
        .unwrap_or_default()
        .iter()
        .map(|row| match row.state {
            HealthState::Down => Health::Down,
            HealthState::Degraded => Health::Degraded,
            HealthState::Healthy | HealthState::Unknown => Health::Healthy,
        })
        .max()
        .unwrap_or(Health::Healthy);
    let paused = engine.is_paused();
    Overview {
        health,
        current: current_line(&engine.jobs().unwrap_or_default(), paused),
        paused,
    }
}

/// What is happening, in a line: a job at work, else what waits (queued,
/// or parked until its next try), else idle.
fn current_line(jobs: &[JobSummary], paused: bool) -> String {
    let at_work = jobs
        .iter()
        .rev()
        .find(|job| job.state.is_working() && job.state != JobState::Queued && !job.paused);
    if let Some(job) = at_work {
        return describe(job);
    }
    if paused {
        return "Paused".into();
    }
    let waiting: Vec<String> = [
        (JobState::Queued, "queued"),
        (JobState::AwaitingRetry, "waiting to retry"),
        (JobState::AwaitingReplicas, "waiting for replicas"),
    ]
    .into_iter()
    .filter_map(|(state, what)| {
        let n = jobs.iter().filter(|job| job.state == state).count();
        (n > 0).then(|| format!("{n} {what}"))
    })
    .collect();
    match waiting.is_empty() {
        true => "Idle".into(),
        false => waiting.join(", "),
    }
}

fn describe(job: &JobSummary) -> String {
    match job.progress.as_ref().and_then(|p| p.percent) {
        Some(percent) if job.state == JobState::Encoding => {
            format!("Job {}: encoding {percent:.0}%", job.id)
        }
        _ => format!("Job {}: {}", job.id, job.state),
    }
}

/// A filled circle in the health colour, drawn here so no icon file is
/// needed per state.
fn dot(health: Health) -> Image<'static> {
    let [r, g, b] = health.rgb();
    let centre = (ICON_SIZE as f32 - 1.0) / 2.0;
    let radius = ICON_SIZE as f32 / 2.0 - 2.0;
    let mut rgba = Vec::with_capacity((ICON_SIZE * ICON_SIZE * 4) as usize);
    for y in 0..ICON_SIZE {
        for x in 0..ICON_SIZE {
            let distance = ((x as f32 - centre).powi(2) + (y as f32 - centre).powi(2)).sqrt();
            // One pixel of soft edge.
            let alpha = (radius + 0.5 - distance).clamp(0.0, 1.0);
            rgba.extend_from_slice(&[r, g, b, (alpha * 255.0) as u8]);
        }
    }
    Image::new_owned(rgba, ICON_SIZE, ICON_SIZE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(id: i64, state: JobState) -> JobSummary {
        JobSummary {
            id,
            state,
            input: format!("/videos/{id}.mp4"),
            cid: None,
            error: None,
            retryable: None,
            updated_at: String::new(),
            paused: false,
            progress: None,
            stopped_in: None,
            waiting_for_slot: None,
        }
    }

    #[test]
    fn the_tray_names_a_job_at_work_before_anything_that_waits() {
        let jobs = [job(2, JobState::Uploading), job(1, JobState::AwaitingRetry)];
        assert_eq!(current_line(&jobs, false), "Job 2: uploading");
    }

    #[test]
    fn with_nothing_at_work_the_tray_says_what_waits_and_why() {
        let jobs = [
            job(4, JobState::Queued),
            job(3, JobState::AwaitingRetry),
            job(2, JobState::AwaitingReplicas),
            job(1, JobState::Done),
        ];
        assert_eq!(
            current_line(&jobs, false),
            "1 queued, 1 waiting to retry, 1 waiting for replicas"
        );
        assert_eq!(current_line(&jobs, true), "Paused");
        assert_eq!(current_line(&[job(1, JobState::Done)], false), "Idle");
    }
}
