//! Managed mode: the Direct API, where 3Speak's embed system pushes jobs
//! (`POST /encode`), with `GET /job/{id}`, `GET /jobs` and `GET /health`,
//! in the request and answer shapes of 3Speak's own encoder.
//!
//! A pushed job is committed (with the key its reports go out with)
//! before `200` is answered, so a crash after the answer never loses it.
//! From then on it is an embed job like a community one: `reports.rs`
//! sends its progress and its report.
//!
//! Every route but `/health` needs the key (`X-API-Key`, or
//! `Authorization: Bearer`), compared in constant time. The key comes from
//! `DIRECT_API_KEY` or the keyring (`direct-api`); without one the server
//! does not start. Bodies are limited to `[direct_api] max_body`, and no
//! CORS header is sent: browsers on other sites cannot call it.

use std::sync::Arc;

use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};
use subtle::ConstantTimeEq;
use tank_config::{Secrets, DIRECT_API_SECRET};
use tank_gateway::CallbackKey;
use tank_ipfs::Secret;
use tank_model::{EmbedClaim, EmbedVia, EmbedVideo, JobState};
use tank_store::{now_ms, rfc3339};
use tokio_util::sync::CancellationToken;
use url::Url;

use super::{job_id, EmbedWorker};
use crate::error::DaemonError;
use crate::remote::remote_input;

/// The Direct API, bound to its address and ready to serve.
pub(crate) struct DirectApi {
    listener: tokio::net::TcpListener,
    router: Router,
}

#[derive(Clone)]
struct Api {
    worker: Arc<EmbedWorker>,
    key: Arc<Secret>,
}

impl DirectApi {
    /// Reads the key and binds `[direct_api] listen`: either failing stops
    /// the daemon at start, with the reason.
    pub async fn bind(worker: Arc<EmbedWorker>) -> Result<DirectApi, DaemonError> {
        let config = worker.engine.config().direct_api.clone();
        let key = api_key(worker.engine.secrets())?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|e| {
                DaemonError::DirectApi(format!("cannot listen on {}: {e}", config.listen))
            })?;
        let api = Api {
            worker,
            key: Arc::new(key),
        };
        let guarded = Router::new()
            .route("/encode", post(encode))
            .route("/job/{id}", get(job))
            .route("/jobs", get(jobs))
            .route_layer(middleware::from_fn_with_state(api.clone(), authorized));
        let router = guarded
            .route("/health", get(health))
            .layer(DefaultBodyLimit::max(config.max_body))
            .with_state(api);
        Ok(DirectApi { listener, router })
    }

    /// Serves until `stop`.
    pub async fn serve(self, stop: CancellationToken) {
        match self.listener.local_addr() {
            Ok(address) => tracing::info!(%address, "Direct API listening (managed mode)"),
            Err(e) => tracing::warn!(%e, "Direct API listening on an unknown address"),
        }
        let served = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await;
        if let Err(e) = served {
            tracing::error!(%e, "the Direct API stopped");
        }
    }
}

/// `DIRECT_API_KEY` (the reference encoder's name), else the keyring.
pub(crate) fn api_key(secrets: &Secrets) -> Result<Secret, DaemonError> {
    if let Some(key) = std::env::var("DIRECT_API_KEY")
        .ok()
        .filter(|k| !k.trim().is_empty())
    {
        return Ok(Secret::new(key));
    }
    secrets
        .get(DIRECT_API_SECRET)
        .map_err(|e| {
            DaemonError::DirectApi(format!(
                "the Direct API needs a key and has none: set DIRECT_API_KEY, or `tank secret set {DIRECT_API_SECRET}` ({e})"
            ))
        })
}

/// The key from `X-API-Key`, or `Authorization: Bearer <key>`.
async fn authorized(State(api): State<Api>, request: Request, next: Next) -> Response {
    let headers = request.headers();
    let given = headers
        .get("x-api-key")
        .or_else(|| headers.get(header::AUTHORIZATION))
        .and_then(|v| v.to_str().ok())
        .map(|v| v.strip_prefix("Bearer ").unwrap_or(v).trim().to_owned());
    let matches =
        given.is_some_and(|given| bool::from(given.as_bytes().ct_eq(api.key.expose().as_bytes())));
    if !matches {
        return refusal(
            StatusCode::UNAUTHORIZED,
            "Unauthorized: a valid API key is required",
        );
    }
    next.run(request).await
}

/// An error in the reference encoder's shape.
fn refusal(status: StatusCode, error: &str) -> Response {
    let body = json!({
        "job_id": "",
        "status": "failed",
        "created_at": rfc3339(now_ms()),
        "error": error,
    });
    (status, Json(body)).into_response()
}

async fn health() -> Json<Value> {
    Json(json!({ "status": "healthy", "ready": true, "timestamp": rfc3339(now_ms()) }))
}

/// `POST /encode`: the job is committed before it is answered.
async fn encode(
    State(api): State<Api>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let body = match body {
        Ok(Json(body)) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let limit = api.worker.engine.config().direct_api.max_body;
            return refusal(
                StatusCode::PAYLOAD_TOO_LARGE,
                &format!("the body is over {limit} bytes ([direct_api] max_body)"),
            );
        }
        Err(rejection) => {
            let error =
                format!("the body must be JSON (Content-Type: application/json): {rejection}");
            return refusal(StatusCode::BAD_REQUEST, &error);
        }
    };
    let (video, key) = match pushed_job(&body) {
        Ok(job) => job,
        Err(error) => return refusal(StatusCode::BAD_REQUEST, &error),
    };
    if let Err(error) = remote_input(&video.input_cid, "the pushed job") {
        return refusal(StatusCode::BAD_REQUEST, &error);
    }
    let (local, new) = match api.worker.record(&video, &key) {
        Ok(taken) => taken,
        Err(e) => {
            tracing::error!(%e, owner = video.owner, permlink = video.permlink, "cannot record a pushed job");
            return refusal(StatusCode::INTERNAL_SERVER_ERROR, "Failed to submit job");
        }
    };
    let claim = match api.worker.engine.store().embed_claim_of(local) {
        Ok(Some(claim)) => claim,
        _ => return refusal(StatusCode::INTERNAL_SERVER_ERROR, "Failed to submit job"),
    };
    let message = if new {
        "Job submitted successfully"
    } else {
        "Job already submitted"
    };
    Json(json!({
        "job_id": job_id(local),
        "status": status_of(claim.job_state),
        "created_at": claim.claimed_at,
        "message": message,
        "progress": 0,
    }))
    .into_response()
}

/// The job in a push, and the key its reports go out with; or what is
/// wrong with it, in the reference encoder's words.
fn pushed_job(body: &Value) -> Result<(EmbedVideo, CallbackKey), String> {
    let text = |field: &str| {
        body.get(field)
            .and_then(Value::as_str)
            .filter(|t| !t.trim().is_empty())
            .map(str::to_owned)
    };
    let missing: Vec<&str> = ["owner", "permlink", "input_cid", "webhook_url", "api_key"]
        .into_iter()
        .filter(|field| text(field).is_none())
        .chain(body.get("short").is_none().then_some("short"))
        .collect();
    if !missing.is_empty() {
        return Err(format!("Missing required fields: {}", missing.join(", ")));
    }
    let Some(short) = body.get("short").and_then(Value::as_bool) else {
        return Err("short field must be true or false".into());
    };
    let webhook_url = text("webhook_url").expect("checked");
    if !Url::parse(&webhook_url).is_ok_and(|u| matches!(u.scheme(), "http" | "https")) {
        return Err("webhook_url must be a valid URL".into());
    }
    let video = EmbedVideo {
        via: EmbedVia::Managed,
        owner: text("owner").expect("checked"),
        permlink: text("permlink").expect("checked"),
        input_cid: text("input_cid").expect("checked"),
        short,
        premium: body
            .get("premium")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        webhook_url,
        frontend_app: text("frontend_app"),
        original_filename: text("originalFilename"),
    };
    Ok((video, CallbackKey::new(text("api_key").expect("checked"))))
}

/// `GET /job/{id}`: a pushed job, as the reference encoder shows it.
async fn job(State(api): State<Api>, Path(id): Path<String>) -> Response {
    let Some(claim) = pushed(&api, &id) else {
        return refusal(StatusCode::NOT_FOUND, "Job not found");
    };
    let job = match api.worker.engine.store().job(claim.job_id) {
        Ok(job) => job,
        Err(_) => return refusal(StatusCode::NOT_FOUND, "Job not found"),
    };
    let result = job
        .cid
        .as_ref()
        .filter(|_| job.state == JobState::Done)
        .map(|cid| {
            json!([{
                "profile": "master",
                "ipfsHash": cid,
                "uri": format!("ipfs://{cid}/{}", tank_media::MASTER_PLAYLIST),
            }])
        });
    let progress: f64 = match job.state {
        JobState::Done => 100.0,
        JobState::Encoding => job.progress.and_then(|p| p.percent).unwrap_or(0.0),
        _ => 0.0,
    };
    Json(json!({
        "job_id": job_id(job.id),
        "status": status_of(Some(job.state)),
        "created_at": rfc3339(job.created_at),
        "updated_at": rfc3339(job.updated_at),
        "progress": progress.round(),
        "result": result,
        "error": job.error,
    }))
    .into_response()
}

/// `GET /jobs`: how many pushed jobs are open, waiting or running.
async fn jobs(State(api): State<Api>) -> Response {
    let open = match api.worker.engine.store().embed_open() {
        Ok(open) => open,
        Err(e) => {
            tracing::error!(%e, "cannot list pushed jobs");
            return refusal(StatusCode::INTERNAL_SERVER_ERROR, "cannot list jobs");
        }
    };
    let pushed: Vec<&EmbedClaim> = open
        .iter()
        .filter(|c| c.video.via == EmbedVia::Managed)
        .collect();
    let pending = pushed
        .iter()
        .filter(|c| c.job_state == Some(JobState::Queued))
        .count();
    Json(json!({ "total": pushed.len(), "pending": pending, "active": pushed.len() - pending }))
        .into_response()
}

/// The pushed job named `tank-<local id>`.
fn pushed(api: &Api, id: &str) -> Option<EmbedClaim> {
    let local = id.strip_prefix("tank-")?.parse().ok()?;
    api.worker
        .engine
        .store()
        .embed_claim_of(local)
        .ok()
        .flatten()
        .filter(|c| c.video.via == EmbedVia::Managed)
}

/// A job's state in the reference encoder's four words.
fn status_of(state: Option<JobState>) -> &'static str {
    match state {
        None | Some(JobState::Queued) => "queued",
        Some(JobState::Done) => "complete",
        Some(JobState::Failed | JobState::Cancelled) => "failed",
        Some(_) => "running",
    }
}
