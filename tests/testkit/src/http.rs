//! Small HTTP/1.1 servers on loopback: a file server for inputs given as
//! URLs, and a webhook sink that records what alerts post to it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

/// Serves the files of a folder with `GET /<name>`; 404 for anything else.
/// Stops when dropped.
pub struct FileServer {
    pub base: Url,
    task: tokio::task::JoinHandle<()>,
}

impl FileServer {
    pub async fn serve(root: PathBuf) -> FileServer {
        let (base, task) = serve(move |request| {
            let file = (!request.path.contains(".."))
                .then(|| root.join(request.path.trim_start_matches('/')));
            match file.map(std::fs::read) {
                Some(Ok(body)) => (200, body),
                _ => (404, Vec::new()),
            }
        })
        .await;
        FileServer { base, task }
    }

    pub fn url(&self, name: &str) -> Url {
        self.base.join(name).unwrap()
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Accepts `POST`s and keeps their JSON bodies, answering 204.
pub struct WebhookSink {
    pub url: Url,
    received: Arc<Mutex<Vec<Value>>>,
    task: tokio::task::JoinHandle<()>,
}

impl WebhookSink {
    pub async fn start() -> WebhookSink {
        let received = Arc::new(Mutex::new(Vec::new()));
        let sink = received.clone();
        let (base, task) = serve(move |request| {
            if let Ok(body) = serde_json::from_slice(&request.body) {
                sink.lock().unwrap().push(body);
            }
            (204, Vec::new())
        })
        .await;
        WebhookSink {
            url: base.join("hook/secret-token").unwrap(),
            received,
            task,
        }
    }

    /// Every body received so far.
    pub fn received(&self) -> Vec<Value> {
        self.received.lock().unwrap().clone()
    }
}

impl Drop for WebhookSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Request {
    path: String,
    body: Vec<u8>,
}

/// Serves each connection's one request with `handle` (status, body).
async fn serve<F>(handle: F) -> (Url, tokio::task::JoinHandle<()>)
where
    F: Fn(Request) -> (u16, Vec<u8>) + Send + Sync + 'static,
{
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let handle = Arc::new(handle);
    let task = tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let handle = handle.clone();
            tokio::spawn(async move {
                let Some(request) = read_request(&mut socket).await else {
                    return;
                };
                let (status, body) = handle(request);
                let reason = if status < 300 { "OK" } else { "Not Found" };
                let head = format!(
                    "HTTP/1.1 {status} {reason}\r\nContent-Length: {}\r\nContent-Type: application/octet-stream\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&body).await;
            });
        }
    });
    (base, task)
}

/// The request line's path and a Content-Length body.
async fn read_request(socket: &mut TcpStream) -> Option<Request> {
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let header_end = loop {
        let n = socket.read(&mut buf).await.ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(at) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&data[..header_end]).into_owned();
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
    let length: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().to_owned())
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = data[header_end..].to_vec();
    while body.len() < length {
        let n = socket.read(&mut buf).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&buf[..n]);
    }
    Some(Request { path, body })
}
