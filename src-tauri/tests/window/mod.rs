//! The real desktop app, driven like a person would: the debug binary under
//! a private Xvfb display, through `tauri-driver` and WebKitWebDriver
//! (Debian's webkit2gtk-driver), against real kubo harness nodes.
//!
//! Screenshots of each view and the app's logs go to
//! `target/e2e-screenshots/` as test artifacts.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use tank_testkit::free_port;
use tokio::io::AsyncBufReadExt;
use tokio::process::{Child, Command};

/// Settings that keep jobs fast: short waits, fastest x264, small segments.
pub const FAST: &str = r#"
[pinning]
retries = 5
backoff = ["50ms"]
attempt_timeout = "5s"
fetch_timeout = "10s"
poll_interval = "100ms"
[encoding]
preset = "ultrafast"
segment_seconds = 2
[health]
interval = "2s"
"#;

/// How long one WebDriver command may take before the test gives up on
/// the window and says which command hung.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

pub struct DesktopApp {
    pub client: Client,
    /// Holds `config.toml` and the data folder.
    pub dir: tempfile::TempDir,
    /// What tauri-driver and WebKitWebDriver print.
    driver_log: PathBuf,
    /// The Xvfb display the window is on, e.g. `:99`.
    display: String,
    driver: Child,
    xvfb: Child,
}

impl DesktopApp {
    /// Writes `config` (TOML) and starts the app on it.
    pub async fn launch(config: &str) -> DesktopApp {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.toml"), config).unwrap();
        DesktopApp::start(dir, &[], "[data-testid=nav-jobs]").await
    }

    /// Starts the app as a new install: no config file yet, with `env`
    /// added, until it shows `ready` (a CSS selector).
    pub async fn launch_new(env: &[(&str, &str)], ready: &str) -> DesktopApp {
        DesktopApp::start(tempfile::tempdir().unwrap(), env, ready).await
    }

    async fn start(dir: tempfile::TempDir, env: &[(&str, &str)], ready: &str) -> DesktopApp {
        let (xvfb, display) = start_xvfb().await;
        let port = free_port();
        let driver_log = dir.path().join("webdriver.log");
        let driver_output = std::fs::File::create(&driver_log).unwrap();
        let driver = Command::new(tauri_driver())
            .args(["--port", &port.to_string()])
            .args(["--native-port", &free_port().to_string()])
            .envs(app_env(dir.path(), &display))
            .envs(env.iter().copied())
            .stdout(driver_output.try_clone().unwrap())
            .stderr(driver_output)
            .kill_on_drop(true)
            .spawn()
            .expect("tauri-driver is installed (scripts/setup.sh: cargo install tauri-driver)");
        let webdriver = format!("http://127.0.0.1:{port}");
        wait_until_answers(&format!("{webdriver}/status")).await;
        let capabilities = serde_json::json!({
            "tauri:options": { "application": env!("CARGO_BIN_EXE_tank-desktop") }
        });
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities.as_object().unwrap().clone());
        let session = builder.connect(&webdriver);
        let log = dir.path().join("data/logs/tank-desktop.log");
        let client = match tokio::time::timeout(Duration::from_secs(90), session).await {
            Ok(Ok(client)) => client,
            outcome => panic!(
                "the app did not start under tauri-driver ({outcome:?}); its log:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            ),
        };
        let app = DesktopApp {
            client,
            dir,
            driver_log,
            display,
            driver,
            xvfb,
        };
        app.wait_for(ready).await;
        app
    }

    /// The X display the window is on.
    pub fn display(&self) -> &str {
        &self.display
    }

    /// The names of every process the app runs (under the driver's).
    pub fn process_names(&self) -> Vec<String> {
        crate::host::processes::names(self.driver.id().expect("the driver runs"))
    }

    /// Starts the app a second time, as an operator would, and waits for
    /// that process to end: it hands over to the running one and exits.
    pub async fn launch_again(&self) {
        let mut second = Command::new(env!("CARGO_BIN_EXE_tank-desktop"))
            .envs(app_env(self.dir.path(), &self.display))
            .kill_on_drop(true)
            .spawn()
            .expect("a second launch starts");
        let status = tokio::time::timeout(Duration::from_secs(30), second.wait())
            .await
            .expect("a second launch hands over and exits")
            .unwrap();
        assert!(status.success(), "a second launch exits cleanly: {status}");
    }

    pub fn config_path(&self) -> PathBuf {
        self.dir.path().join("config.toml")
    }

    /// The first element matching `css`, waiting up to 60 s for it.
    pub async fn wait_for(&self, css: &str) -> Element {
        self.wait_for_within(css, Duration::from_secs(60)).await
    }

    pub async fn wait_for_within(&self, css: &str, timeout: Duration) -> Element {
        eprintln!("[window] wait for {css}");
        let wait = self
            .client
            .wait()
            .at_most(timeout)
            .every(Duration::from_millis(200))
            .for_element(Locator::Css(css));
        // A WebDriver command can itself hang when the app does: bound it all.
        match tokio::time::timeout(timeout + Duration::from_secs(10), wait).await {
            Ok(Ok(element)) => element,
            outcome => panic!(
                "no element {css} after {timeout:?} ({outcome:?})\n{}",
                self.logs()
            ),
        }
    }

    /// Runs one WebDriver command, bounded: a window that stops answering
    /// fails the test with the command's name and the logs, not a hang.
    async fn command<T, E: std::fmt::Debug>(
        &self,
        what: &str,
        command: impl Future<Output = Result<T, E>>,
    ) -> T {
        eprintln!("[window] {what}");
        match tokio::time::timeout(COMMAND_TIMEOUT, command).await {
            Ok(Ok(value)) => value,
            Ok(Err(e)) => panic!("{what} failed: {e:?}\n{}", self.logs()),
            Err(_) => panic!("{what} hung for {COMMAND_TIMEOUT:?}\n{}", self.logs()),
        }
    }

    /// The app's log and the WebDriver log, for a failure message.
    fn logs(&self) -> String {
        let read = |path: &Path| std::fs::read_to_string(path).unwrap_or_default();
        format!(
            "the app's log:\n{}\nthe WebDriver log:\n{}",
            read(&self.dir.path().join("data/logs/tank-desktop.log")),
            read(&self.driver_log)
        )
    }

    pub async fn all(&self, css: &str) -> Vec<Element> {
        self.command(
            &format!("find all {css}"),
            self.client.find_all(Locator::Css(css)),
        )
        .await
    }

    /// The value of `name` on `element`, if it has one.
    pub async fn attr(&self, element: &Element, name: &str) -> Option<String> {
        self.command(&format!("read attribute {name}"), element.attr(name))
            .await
    }

    /// Clicks the element with `data-testid=test_id`, scrolled to the middle
    /// of the window first (a sticky bar may cover its edges).
    pub async fn click(&self, test_id: &str) {
        let element = self.wait_for(&format!("[data-testid={test_id}]")).await;
        let reference = serde_json::to_value(&element).unwrap();
        self.command(
            &format!("scroll to {test_id}"),
            self.client.execute(
                "arguments[0].scrollIntoView({block: 'center'})",
                vec![reference],
            ),
        )
        .await;
        self.command(&format!("click {test_id}"), element.click())
            .await;
    }

    /// Adds `input` (a file path, URL or `ipfs://` CID) as the operator
    /// does, typed into the add box, and waits for job `id`'s row.
    pub async fn add_job(&self, input: &Path, id: u32) {
        self.type_into("[data-testid=add-input]", input.to_str().unwrap())
            .await;
        self.click("add-button").await;
        self.wait_for(&format!("[data-testid=job-row-{id}]")).await;
    }

    /// Replaces the text of the input matching `css`.
    pub async fn type_into(&self, css: &str, text: &str) {
        let input = self.wait_for(css).await;
        self.command(&format!("clear {css}"), input.clear()).await;
        self.command(&format!("type into {css}"), input.send_keys(text))
            .await;
    }

    pub async fn text(&self, css: &str) -> String {
        let element = self.wait_for(css).await;
        self.command(&format!("read the text of {css}"), element.text())
            .await
    }

    /// Saves a PNG of the screen, the window as an operator sees it, as
    /// `target/e2e-screenshots/<name>.png`. It is grabbed from the X display
    /// with FFmpeg, not asked of WebDriver: WebKitWebDriver's screenshot
    /// waits for the page's next presentation update, and on a loaded
    /// machine an idle page sometimes never has one (seen here: every
    /// process idle, the command stuck for minutes).
    pub async fn screenshot(&self, name: &str) {
        let path = artifacts().join(format!("{name}.png"));
        let size = SCREEN.rsplit_once('x').unwrap().0;
        let grab = Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-y"])
            .args(["-f", "x11grab", "-video_size", size, "-i", &self.display])
            .args(["-frames:v", "1"])
            .arg(&path)
            .kill_on_drop(true)
            .output();
        let output = self.command(&format!("screenshot {name}"), grab).await;
        assert!(
            output.status.success(),
            "ffmpeg could not grab the screen: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let png = std::fs::read(&path).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a screenshot is a PNG");
    }

    /// Ends the WebDriver session (which ends the app), then the driver and
    /// the display; the app's log is kept as `target/e2e-screenshots/<log>.log`.
    pub async fn close(mut self, log: &str) {
        let _ = tokio::time::timeout(COMMAND_TIMEOUT, self.client.clone().close()).await;
        let from = self.dir.path().join("data/logs/tank-desktop.log");
        let _ = std::fs::copy(from, artifacts().join(format!("{log}.log")));
        let _ = std::fs::copy(
            &self.driver_log,
            artifacts().join(format!("{log}-webdriver.log")),
        );
        let _ = self.driver.kill().await;
        let _ = self.xvfb.kill().await;
    }
}

/// What the app runs with, whoever starts it: its config and data folder
/// in `dir`, the display, and the settings a display without a GPU or an
/// accessibility bus needs.
fn app_env(dir: &Path, display: &str) -> Vec<(&'static str, std::ffi::OsString)> {
    vec![
        ("DISPLAY", display.into()),
        ("TANK_CONFIG", dir.join("config.toml").into()),
        ("TANK_DATA_DIR", dir.join("data").into()),
        // Software rendering: Xvfb has no GPU.
        ("WEBKIT_DISABLE_COMPOSITING_MODE", "1".into()),
        ("LIBGL_ALWAYS_SOFTWARE", "1".into()),
        // No accessibility bus: when it is slow to answer, GTK's and
        // WebKit's blocking D-Bus calls to it (25 s each) stall the
        // window; an address that does not exist fails at once.
        ("NO_AT_BRIDGE", "1".into()),
        (
            "AT_SPI_BUS_ADDRESS",
            "unix:path=/nonexistent/tank-no-a11y-bus".into(),
        ),
    ]
}

/// Where screenshots and logs go.
fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/e2e-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn tauri_driver() -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap();
    let installed = home.join("bin/tauri-driver");
    match installed.exists() {
        true => installed,
        false => "tauri-driver".into(),
    }
}

/// The virtual screen: larger than the window's 1024×700 minimum.
const SCREEN: &str = "1280x800x24";

/// Xvfb on a display number it picks itself (`-displayfd`).
async fn start_xvfb() -> (Child, String) {
    let mut xvfb = Command::new("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            SCREEN,
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("Xvfb is installed (scripts/setup.sh: apt-get install xvfb)");
    let mut lines = tokio::io::BufReader::new(xvfb.stdout.take().unwrap()).lines();
    let display = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("Xvfb reports its display")
        .unwrap()
        .expect("a display number");
    (xvfb, format!(":{}", display.trim()))
}

async fn wait_until_answers(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while reqwest::get(url).await.is_err() {
        assert!(Instant::now() < deadline, "{url} does not answer");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
