//! Tank Encoder's desktop app: a window and a tray icon over `tank-engine`.
//!
//! A thin adapter. It opens the engine from the same config file and data
//! folder as the `tank` binary (`TANK_CONFIG` and `TANK_DATA_DIR` override
//! both), runs the engine's background work for as long as the app runs,
//! and exposes the engine to the window as commands (`commands/`), with
//! events streamed over a channel (`watch.rs`). No encoding, pinning or
//! job logic lives here: what the window can do, `tank` can do too.
//!
//! Closing the window keeps the app encoding in the tray (`tray.rs`) and
//! destroys the window with its webview (`window.rs`); a second launch or
//! the tray makes it again.

#[cfg(test)]
mod bindings;
mod commands;
mod error;
mod runtime;
mod tray;
mod watch;
mod window;

use std::path::{Path, PathBuf};

use tank_config::Paths;
use tank_model::{HealthState, JobEvent, JobState};
use tauri::{AppHandle, Manager, RunEvent};
use tauri_plugin_notification::NotificationExt;

use crate::runtime::Runtime;

pub fn run() {
    let paths = match Paths::resolve(
        std::env::var_os("TANK_CONFIG").map(PathBuf::from),
        std::env::var_os("TANK_DATA_DIR").map(PathBuf::from),
    ) {
        Ok(paths) => paths,
        Err(problem) => {
            eprintln!("tank-desktop: {problem} (set TANK_CONFIG and TANK_DATA_DIR)");
            std::process::exit(2);
        }
    };
    init_logging(&paths.data_dir);
    tauri::Builder::default()
        // First: a second launch only opens the running app's window.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            window::open(app)
        }))
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            Some(vec![window::IN_TRAY]),
        ))
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_dialog::init())
        .plugin(tauri_plugin_opener::init())
        .setup(move |app| {
            app.manage(Runtime::start(paths));
            tray::create(app.handle())?;
            notify_and_redraw(app.handle().clone());
            if !std::env::args().any(|a| a == window::IN_TRAY) {
                window::open(app.handle());
            }
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            commands::app::app_status,
            commands::app::set_paused,
            commands::app::gateway_status,
            commands::app::watch_events,
            commands::jobs::list_jobs,
            commands::jobs::job_report,
            commands::jobs::disk_usage,
            commands::jobs::add_jobs,
            commands::jobs::pause_job,
            commands::jobs::resume_job,
            commands::jobs::cancel_job,
            commands::jobs::retry_job,
            commands::jobs::open_output,
            commands::jobs::job_log,
            commands::jobs::open_job_log,
            commands::jobs::open_in_gateway,
            commands::nodes::node_reports,
            commands::nodes::test_node,
            commands::nodes::local_node,
            commands::nodes::local_node_action,
            commands::settings::get_settings,
            commands::settings::save_settings,
            commands::settings::set_up,
            commands::settings::launch_at_login,
            commands::settings::set_launch_at_login,
        ])
        .build(tauri::generate_context!())
        .expect("the desktop app could not start")
        .run(|_app, event| {
            // The window closed: keep encoding in the tray. Quit (an
            // exit with a code) is let through.
            if let RunEvent::ExitRequested {
                code: None, api, ..
            } = event
            {
                api.prevent_exit();
            }
        });
}

/// Stops the background work (jobs resume at the next start), then exits.
pub(crate) fn quit(app: &AppHandle) {
    let app = app.clone();
    tauri::async_runtime::spawn(async move {
        app.state::<Runtime>().shutdown().await;
        app.exit(0);
    });
}

pub(crate) fn logs_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("logs")
}

/// The tray's progress is redrawn at most this often.
const TRAY_PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Desktop notifications when a job finishes or fails and when a node goes
/// down; the tray redrawn as things change.
fn notify_and_redraw(app: AppHandle) {
    let handle = app.clone();
    let mut progress_drawn = std::time::Instant::now();
    watch::follow(app, move |event| {
        let notice = match &event {
            JobEvent::State {
                job,
                state: JobState::Done,
                ..
            } => Some((format!("Job {job} is done"), "Durable on IPFS.".to_owned())),
            JobEvent::State {
                job,
                state: JobState::Failed,
                detail,
            } => Some((
                format!("Job {job} failed"),
                detail.clone().unwrap_or_default(),
            )),
            JobEvent::NodeHealth {
                node,
                state,
                detail,
            } if *state == HealthState::Down => Some((
                format!("Node {node} is down"),
                detail.clone().unwrap_or_default(),
            )),
            _ => None,
        };
        if let Some((title, body)) = notice {
            if let Err(e) = handle
                .notification()
                .builder()
                .title(&title)
                .body(&body)
                .show()
            {
                tracing::warn!(%e, title, "cannot show a notification");
            }
        }
        let progress = matches!(event, JobEvent::Encode { .. } | JobEvent::Download { .. });
        if !progress || progress_drawn.elapsed() >= TRAY_PROGRESS_EVERY {
            progress_drawn = std::time::Instant::now();
            tray::refresh(&handle);
        }
        true
    });
}

/// Logs go to `<data dir>/logs/tank-desktop.log` ("Open logs" in the tray).
fn init_logging(data_dir: &Path) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let dir = logs_dir(data_dir);
    let file = std::fs::create_dir_all(&dir).and_then(|()| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("tank-desktop.log"))
    });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false);
    match file {
        Ok(file) => builder.with_writer(std::sync::Mutex::new(file)).init(),
        Err(e) => {
            builder.with_writer(std::io::stderr).init();
            tracing::warn!(%e, dir = %dir.display(), "cannot write the log file; logging to stderr");
        }
    }
}
