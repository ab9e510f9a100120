//! The app's window as the X server sees it, for the tests and the idle
//! benchmark under Xvfb (which runs no window manager): whether a window
//! of a title is shown, and closing it the way a window manager's close
//! button does, with a `WM_DELETE_WINDOW` message, which GTK turns into
//! the app's close request.

use std::time::{Duration, Instant};

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    AtomEnum, ClientMessageEvent, ConnectionExt, EventMask, MapState, Window,
};
use x11rb::rust_connection::RustConnection;

pub struct Display {
    conn: RustConnection,
    root: Window,
}

impl Display {
    /// Connects to `display`, e.g. `:97`.
    pub fn open(display: &str) -> Display {
        let (conn, screen) = x11rb::connect(Some(display))
            .unwrap_or_else(|e| panic!("cannot connect to X display {display}: {e}"));
        let root = conn.setup().roots[screen].root;
        Display { conn, root }
    }

    /// The shown top-level window titled `title`, if there is one.
    pub fn shown(&self, title: &str) -> Option<Window> {
        let tree = self.conn.query_tree(self.root).ok()?.reply().ok()?;
        tree.children.into_iter().find(|&window| {
            let viewable = self
                .conn
                .get_window_attributes(window)
                .ok()
                .and_then(|c| c.reply().ok())
                .is_some_and(|a| a.map_state == MapState::VIEWABLE);
            viewable && self.title(window).as_deref() == Some(title)
        })
    }

    fn title(&self, window: Window) -> Option<String> {
        let reply = self
            .conn
            .get_property(false, window, AtomEnum::WM_NAME, AtomEnum::ANY, 0, 256)
            .ok()?
            .reply()
            .ok()?;
        String::from_utf8(reply.value).ok()
    }

    /// Waits up to `timeout` for a window titled `title` to be shown (or,
    /// with `shown` false, for none to be); returns how long it took.
    pub fn wait(&self, title: &str, shown: bool, timeout: Duration) -> Duration {
        let started = Instant::now();
        while self.shown(title).is_some() != shown {
            assert!(
                started.elapsed() < timeout,
                "no window {title:?} was {} within {timeout:?}",
                if shown { "shown" } else { "closed" }
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        started.elapsed()
    }

    /// Asks the window titled `title` to close, as a close button does.
    pub fn close(&self, title: &str) {
        let window = self
            .shown(title)
            .unwrap_or_else(|| panic!("no window {title:?} is shown"));
        let atom = |name: &[u8]| {
            self.conn
                .intern_atom(false, name)
                .expect("intern_atom sent")
                .reply()
                .expect("intern_atom answered")
                .atom
        };
        let protocols = atom(b"WM_PROTOCOLS");
        let delete = atom(b"WM_DELETE_WINDOW");
        let message = ClientMessageEvent::new(
            32,
            window,
            protocols,
            [delete, x11rb::CURRENT_TIME, 0, 0, 0],
        );
        self.conn
            .send_event(false, window, EventMask::NO_EVENT, message)
            .expect("WM_DELETE_WINDOW sent");
        self.conn.flush().expect("X connection flushed");
    }
}
