//! Small HTTP/1.1 servers on loopback: a file server for inputs given as
//! URLs (with `Range` support, and a mode that breaks off the first
//! transfer), and a webhook sink that records what alerts post to it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use url::Url;

/// Serves the files of a folder with `GET /<name>` (`Range` requests are
/// answered 206; `.html` files as `text/html`); 404 for anything else. Stops when dropped.
pub struct FileServer {
    pub base: Url,
    /// Each request's `Range` header, in order (`None`: none sent).
    ranges: Arc<Mutex<Vec<Option<String>>>>,
    task: tokio::task::JoinHandle<()>,
}

impl FileServer {
    pub async fn serve(root: PathBuf) -> FileServer {
        Self::serve_cutting(root, None).await
    }

    /// Like [`Self::serve`], but the first answer announces the whole file
    /// and breaks off after `cut_after` bytes, as a dropped connection does.
    pub async fn serve_cutting(root: PathBuf, cut_after: Option<usize>) -> FileServer {
        let ranges = Arc::new(Mutex::new(Vec::new()));
        let seen = ranges.clone();
        let (base, task) = serve(move |request| {
            let first = {
                let mut seen = seen.lock().unwrap();
                seen.push(request.range.clone());
                seen.len() == 1
            };
            let file = (!request.path.contains(".."))
                .then(|| root.join(request.path.trim_start_matches('/')));
            let Some(Ok(body)) = file.map(std::fs::read) else {
                return Reply::status(404);
            };
            let start = request
                .range
                .as_deref()
                .and_then(|r| r.strip_prefix("bytes="))
                .and_then(|r| r.trim_end_matches('-').parse::<usize>().ok());
            match start {
                Some(start) if start < body.len() => Reply {
                    status: 206,
                    headers: vec![(
                        "Content-Range".into(),
                        format!("bytes {start}-{}/{}", body.len() - 1, body.len()),
                    )],
                    body: body[start..].to_vec(),
                    cut_after: None,
                },
                _ => Reply {
                    status: 200,
                    // A web page says so, as web servers do; anything else
                    // goes without a type.
                    headers: if request.path.ends_with(".html") {
                        vec![("Content-Type".into(), "text/html; charset=utf-8".into())]
                    } else {
                        vec![]
                    },
                    body,
                    cut_after: cut_after.filter(|_| first),
                },
            }
        })
        .await;
        FileServer { base, ranges, task }
    }

    pub fn url(&self, name: &str) -> Url {
        self.base.join(name).unwrap()
    }

    /// The `Range` header of each request so far.
    pub fn ranges(&self) -> Vec<Option<String>> {
        self.ranges.lock().unwrap().clone()
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
            Reply::status(204)
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
    range: Option<String>,
    body: Vec<u8>,
}

struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// Announce the whole body but send only this much, then close.
    cut_after: Option<usize>,
}

impl Reply {
    fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: vec![],
            body: vec![],
            cut_after: None,
        }
    }
}

/// Serves each connection's one request with `handle`.
async fn serve<F>(handle: F) -> (Url, tokio::task::JoinHandle<()>)
where
    F: Fn(Request) -> Reply + Send + Sync + 'static,
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
                let reply = handle(request);
                let reason = match reply.status {
                    200 => "OK",
                    204 => "No Content",
                    206 => "Partial Content",
                    _ => "Not Found",
                };
                let mut head = format!(
                    "HTTP/1.1 {} {reason}\r\nContent-Length: {}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n",
                    reply.status,
                    reply.body.len()
                );
                if !reply.headers.iter().any(|(name, _)| name == "Content-Type") {
                    head.push_str("Content-Type: application/octet-stream\r\n");
                }
                for (name, value) in &reply.headers {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str("\r\n");
                let sent = reply
                    .cut_after
                    .unwrap_or(reply.body.len())
                    .min(reply.body.len());
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(&reply.body[..sent]).await;
            });
        }
    });
    (base, task)
}

/// The request line's path, its `Range` header and a Content-Length body.
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
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (key, value) = l.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    };
    let length: usize = header("content-length")
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
    Some(Request {
        path,
        range: header("range"),
        body,
    })
}
