//! Small HTTP servers on loopback, on axum: a file server for inputs given
//! as URLs (tower-http's `ServeDir`, with `Range` support that can be
//! turned off, a mode that breaks off the first transfer, and a
//! per-connection bandwidth limit), and a webhook sink that records what
//! alerts post to it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{HeaderValue, ACCEPT_RANGES, RANGE};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use futures_util::StreamExt;
use serde_json::Value;
use tower_http::services::ServeDir;
use url::Url;

/// What a [`FileServer`] does with `Range` requests.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Ranges {
    /// Answers them (206) and says so (`Accept-Ranges: bytes`).
    Honoured,
    /// Ignores them, as servers without range support do: every answer is
    /// the whole file.
    Unsupported,
    /// Says `Accept-Ranges: bytes`, but answers every request with the
    /// whole file, as some misconfigured servers and proxies do.
    Claimed,
}

/// How a [`FileServer`] answers.
#[derive(Debug, Clone, Copy)]
pub struct Serving {
    pub ranges: Ranges,
    /// The first answer announces its whole length and breaks off after
    /// this many bytes, as a dropped connection does.
    pub cut_first_after: Option<usize>,
    /// Each answer (each connection) is sent at most this fast, in bytes a
    /// second, as long-distance TCP limits each connection.
    pub bytes_per_second: Option<u64>,
}

impl Default for Serving {
    fn default() -> Self {
        Serving {
            ranges: Ranges::Honoured,
            cut_first_after: None,
            bytes_per_second: None,
        }
    }
}

/// Serves the files of a folder with `GET /<name>`, typed by their
/// extension (`.html` as `text/html`); 404 for anything else. Stops when
/// dropped.
pub struct FileServer {
    pub base: Url,
    /// Each request's `Range` header, in order (`None`: none sent).
    ranges: Arc<Mutex<Vec<Option<String>>>>,
    task: tokio::task::JoinHandle<()>,
}

struct Shaping {
    serving: Serving,
    ranges: Arc<Mutex<Vec<Option<String>>>>,
}

impl FileServer {
    pub async fn serve(root: PathBuf) -> FileServer {
        Self::serve_with(root, Serving::default()).await
    }

    /// Like [`Self::serve`], but the first answer announces the whole file
    /// and breaks off after `cut_after` bytes, as a dropped connection does.
    pub async fn serve_cutting(root: PathBuf, cut_after: Option<usize>) -> FileServer {
        let serving = Serving {
            cut_first_after: cut_after,
            ..Serving::default()
        };
        Self::serve_with(root, serving).await
    }

    pub async fn serve_with(root: PathBuf, serving: Serving) -> FileServer {
        let ranges = Arc::new(Mutex::new(Vec::new()));
        let shaping = Arc::new(Shaping {
            serving,
            ranges: ranges.clone(),
        });
        let app = Router::new()
            .fallback_service(ServeDir::new(root))
            .layer(axum::middleware::from_fn_with_state(shaping, shape));
        let (base, task) = serve(app).await;
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

/// Records the request's range, and shapes the answer as [`Serving`] says.
async fn shape(State(shaping): State<Arc<Shaping>>, mut request: Request, next: Next) -> Response {
    let serving = shaping.serving;
    let first = {
        let mut seen = shaping.ranges.lock().unwrap();
        seen.push(
            request
                .headers()
                .get(RANGE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned),
        );
        seen.len() == 1
    };
    if serving.ranges != Ranges::Honoured {
        request.headers_mut().remove(RANGE);
    }
    let mut response = next.run(request).await;
    if serving.ranges == Ranges::Unsupported {
        response.headers_mut().remove(ACCEPT_RANGES);
    } else {
        response
            .headers_mut()
            .insert(ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    }
    let cut = serving.cut_first_after.filter(|_| first);
    if cut.is_none() && serving.bytes_per_second.is_none() {
        return response;
    }
    let (parts, body) = response.into_parts();
    let mut left = cut.unwrap_or(usize::MAX);
    let chunks = body.into_data_stream().flat_map(move |chunk| {
        let chunk = match chunk {
            Ok(mut chunk) if chunk.len() >= left => {
                let _ = chunk.split_off(left);
                left = 0;
                vec![
                    Ok(chunk),
                    Err(std::io::Error::other("cut off (Serving::cut_first_after)")),
                ]
            }
            Ok(chunk) => {
                left -= chunk.len();
                vec![Ok(chunk)]
            }
            Err(e) => vec![Err(std::io::Error::other(e))],
        };
        futures_util::stream::iter(chunk)
    });
    // Paced per chunk: each waits for the time its bytes take at the rate.
    // The cut waits for hyper to send what came before it: an error drops
    // the connection with whatever is still buffered.
    let paced = chunks.then(move |chunk| async move {
        match (&chunk, serving.bytes_per_second) {
            (Ok(bytes), Some(rate)) => {
                tokio::time::sleep(Duration::from_secs_f64(bytes.len() as f64 / rate as f64)).await
            }
            (Err(_), _) => tokio::time::sleep(Duration::from_millis(300)).await,
            (Ok(_), None) => {}
        }
        chunk
    });
    Response::from_parts(parts, Body::from_stream(paced))
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
        let app = Router::new()
            .fallback(keep_body)
            .with_state(received.clone());
        let (base, task) = serve(app).await;
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

async fn keep_body(
    State(sink): State<Arc<Mutex<Vec<Value>>>>,
    body: axum::body::Bytes,
) -> impl IntoResponse {
    if let Ok(body) = serde_json::from_slice(&body) {
        sink.lock().unwrap().push(body);
    }
    StatusCode::NO_CONTENT
}

impl Drop for WebhookSink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `app` on a free loopback port.
async fn serve(app: Router) -> (Url, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base, task)
}
