//! The engine as the app runs it: opened from the config file, with its
//! background services (`tank_daemon::Daemon`: scheduler, gateway, health
//! monitor, audits, local node) running for as long as the app does, and
//! reopened when the settings change.

use std::sync::RwLock;

use tank_config::{Config, Paths};
use tank_daemon::{Daemon, Shutdown};
use tank_engine::Engine;
use tauri::async_runtime::JoinHandle;
use tokio::sync::{oneshot, watch};

use crate::error::{AppError, AppResult, ErrorCode};

pub struct Runtime {
    paths: Paths,
    state: RwLock<State>,
    /// Serialises reconfigurations.
    reconfiguring: tokio::sync::Mutex<()>,
    /// Bumped each time the engine is reopened: event watchers resubscribe.
    generation: watch::Sender<u64>,
}

struct State {
    /// The config file as written, without the environment: what Settings
    /// edits. `Err` when the file cannot be read or parsed.
    file_config: Result<Config, String>,
    engine: Result<Daemon, String>,
    background: Option<Background>,
}

/// The services' task, how to stop it, and why it stopped by itself
/// (another process runs them on this data directory, say).
struct Background {
    stop: oneshot::Sender<Shutdown>,
    task: JoinHandle<()>,
    failed: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

impl Runtime {
    /// Opens the engine and starts its background work. A config that
    /// cannot be used leaves the app running without an engine, saying why.
    pub fn start(paths: Paths) -> Runtime {
        // No file yet is a first run, even at a path that was named: the
        // window asks what the encoder is for and writes it there.
        let required = paths.config_required && !Runtime::first_run_at(&paths);
        let file_config = Config::read_file(&paths.config, required).map_err(|e| e.to_string());
        let engine = Config::load(&paths.config, required)
            .map_err(|e| e.to_string())
            .and_then(|config| open(config, &paths));
        let background = engine.as_ref().ok().map(start_daemon);
        if let Err(problem) = &engine {
            tracing::error!(%problem, "the engine cannot start");
        }
        Runtime {
            paths,
            state: RwLock::new(State {
                file_config,
                engine,
                background,
            }),
            reconfiguring: tokio::sync::Mutex::new(()),
            generation: watch::channel(0).0,
        }
    }

    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    /// No config file has been written yet: the window asks the first
    /// run's question.
    pub fn first_run(&self) -> bool {
        Runtime::first_run_at(&self.paths)
    }

    fn first_run_at(paths: &Paths) -> bool {
        !paths.config.exists()
    }

    pub fn engine(&self) -> AppResult<Engine> {
        self.daemon().map(|daemon| daemon.engine().clone())
    }

    /// The background services of the engine.
    pub fn daemon(&self) -> AppResult<Daemon> {
        match &self.read().engine {
            Ok(daemon) => Ok(daemon.clone()),
            Err(problem) => Err(AppError::new(ErrorCode::Config, problem.clone())),
        }
    }

    /// Why the engine, or its background work, is not running, if it is
    /// not. With the work running elsewhere the window still shows every
    /// job: it is a viewer then.
    pub fn problem(&self) -> Option<String> {
        let state = self.read();
        match &state.engine {
            Err(problem) => Some(problem.clone()),
            Ok(_) => state
                .background
                .as_ref()
                .and_then(|b| b.failed.lock().expect("not poisoned").clone()),
        }
    }

    pub fn file_config(&self) -> AppResult<Config> {
        self.read().file_config.clone().map_err(|problem| {
            AppError::new(
                ErrorCode::Config,
                format!("{problem}; fix the file by hand, Settings will not overwrite it"),
            )
        })
    }

    /// Writes `config` to the config file (whole or not at all), then
    /// reopens the engine with it, environment applied. Running jobs stop
    /// where they are and continue under the new engine.
    pub async fn reconfigure(&self, config: Config) -> AppResult<()> {
        let _one_at_a_time = self.reconfiguring.lock().await;
        self.file_config()?;
        let mut effective = config.clone();
        for warning in effective.apply_env(|name| std::env::var(name).ok())? {
            tracing::warn!("{warning}");
        }
        effective.validate(Some(&self.paths.config))?;
        config.save(&self.paths.config)?;
        tracing::info!(path = %self.paths.config.display(), "settings saved");
        // Claims are kept across the restart: the new daemon resumes them.
        self.stop_background(Shutdown::Restart).await;
        let engine = open(effective, &self.paths);
        {
            let mut state = self.write();
            state.file_config = Ok(config);
            state.background = engine.as_ref().ok().map(start_daemon);
            state.engine = engine;
        }
        self.generation.send_modify(|g| *g += 1);
        self.engine().map(|_| ())
    }

    /// Changes each time the engine is reopened.
    pub fn generations(&self) -> watch::Receiver<u64> {
        self.generation.subscribe()
    }

    /// Stops the background work as the app exits; jobs resume at the
    /// next start.
    pub async fn shutdown(&self) {
        self.stop_background(Shutdown::Exit).await;
    }

    async fn stop_background(&self, why: Shutdown) {
        let background = self.write().background.take();
        if let Some(background) = background {
            let _ = background.stop.send(why);
            let _ = background.task.await;
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().expect("not poisoned")
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().expect("not poisoned")
    }
}

fn open(config: Config, paths: &Paths) -> Result<Daemon, String> {
    Engine::open(config, &paths.data_dir)
        .map(Daemon::new)
        .map_err(|e| e.to_string())
}

fn start_daemon(daemon: &Daemon) -> Background {
    let (stop, stopped) = oneshot::channel::<Shutdown>();
    let daemon = daemon.clone();
    let failed = std::sync::Arc::new(std::sync::Mutex::new(None));
    let failure = failed.clone();
    let task = tauri::async_runtime::spawn(async move {
        // A dropped sender is the app going away.
        let shutdown = async { stopped.await.unwrap_or(Shutdown::Exit) };
        if let Err(e) = daemon.run(shutdown).await {
            tracing::error!(%e, "background work stopped");
            *failure.lock().expect("not poisoned") = Some(e.to_string());
        }
    });
    Background { stop, task, failed }
}
