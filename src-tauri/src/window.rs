//! The window exists only while someone looks at it. Closing it destroys
//! it, so its WebKit processes exit and an app left in the tray for weeks
//! costs the engine and the tray, not a browser. The tray's Open, a second
//! launch, or a normal start (not `--in-tray`, which launch at login
//! passes) makes it anew from `tauri.conf.json`; everything it shows comes
//! from the engine, so it opens on the same state it closed on.

use std::sync::atomic::{AtomicU64, Ordering};

use tauri::{AppHandle, Manager, WebviewWindowBuilder};

/// The label of the window in `tauri.conf.json` (`"create": false`).
const MAIN: &str = "main";

/// The argument launch at login starts the app with: into the tray only.
pub const IN_TRAY: &str = "--in-tray";

/// Counts the windows made, so what streams to one window can tell when
/// it is gone, even if a new one has taken its label.
static MADE: AtomicU64 = AtomicU64::new(0);

/// Which window is the current one (changes each time one is made).
pub fn generation() -> u64 {
    MADE.load(Ordering::SeqCst)
}

/// Whether the window of `generation` is still open.
pub fn is_open(app: &AppHandle, generation: u64) -> bool {
    self::generation() == generation && app.get_webview_window(MAIN).is_some()
}

/// Shows the window, making it first if it was closed.
pub fn open(app: &AppHandle) {
    if let Some(window) = app.get_webview_window(MAIN) {
        let _ = window.show();
        let _ = window.unminimize();
        let _ = window.set_focus();
        return;
    }
    let made = app
        .config()
        .app
        .windows
        .iter()
        .find(|w| w.label == MAIN)
        .ok_or_else(|| format!("tauri.conf.json has no window labelled {MAIN:?}"))
        .and_then(|config| {
            // Before it exists: its page may subscribe as soon as it does.
            MADE.fetch_add(1, Ordering::SeqCst);
            WebviewWindowBuilder::from_config(app, config)
                .and_then(|builder| builder.build())
                .map_err(|e| e.to_string())
        });
    match made {
        Ok(window) => {
            let _ = window.set_focus();
            tracing::info!("window opened");
        }
        Err(e) => tracing::error!(%e, "cannot open the window"),
    }
}
