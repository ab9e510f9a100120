//! The Jobs view and the job detail.

use std::path::Path;

use tank_model::{DiskUsage, JobId, JobInput, JobLogLine, JobReport, JobSummary};
use tauri::State;
use tauri_plugin_opener::OpenerExt;

use crate::error::{AppError, AppResult, ErrorCode};
use crate::runtime::Runtime;

/// Every job, newest first.
#[tauri::command]
pub fn list_jobs(runtime: State<'_, Runtime>) -> AppResult<Vec<JobSummary>> {
    Ok(runtime.engine()?.jobs()?)
}

/// Everything recorded about one job: stage history, attempts, replicas.
#[tauri::command]
pub fn job_report(runtime: State<'_, Runtime>, id: JobId) -> AppResult<JobReport> {
    Ok(runtime.engine()?.report(id)?)
}

/// What the job folders take on disk, and what the disk has left. Off the
/// main thread: it walks every job folder.
#[tauri::command]
pub async fn disk_usage(runtime: State<'_, Runtime>) -> AppResult<DiskUsage> {
    let engine = runtime.engine()?;
    tauri::async_runtime::spawn_blocking(move || engine.disk_usage())
        .await
        .map_err(|e| AppError::new(ErrorCode::Internal, format!("disk usage: {e}")))?
        .map_err(AppError::from)
}

/// Queues files (dropped or picked) and URLs. Every input is checked
/// first; if one cannot be used, none is queued and the error names it.
#[tauri::command]
pub fn add_jobs(runtime: State<'_, Runtime>, inputs: Vec<String>) -> AppResult<Vec<JobId>> {
    let engine = runtime.engine()?;
    if inputs.is_empty() {
        return Err(AppError::new(ErrorCode::InvalidInput, "no input given"));
    }
    let home = std::env::current_dir().unwrap_or_else(|_| "/".into());
    let parsed = inputs
        .iter()
        .map(|text| checked_input(text.trim(), &home))
        .collect::<AppResult<Vec<_>>>()?;
    parsed
        .iter()
        .map(|input| engine.submit(input).map_err(AppError::from))
        .collect()
}

fn checked_input(text: &str, cwd: &Path) -> AppResult<JobInput> {
    let input = JobInput::parse(text, cwd).map_err(tank_engine::EngineError::from)?;
    if let JobInput::File(path) = &input {
        if !path.is_file() {
            return Err(AppError::new(
                ErrorCode::InvalidInput,
                format!("input {text:?}: no such file"),
            ));
        }
    }
    Ok(input)
}

#[tauri::command]
pub fn pause_job(runtime: State<'_, Runtime>, id: JobId) -> AppResult<()> {
    Ok(runtime.engine()?.pause(id)?)
}

#[tauri::command]
pub fn resume_job(runtime: State<'_, Runtime>, id: JobId) -> AppResult<()> {
    Ok(runtime.engine()?.resume(id)?)
}

#[tauri::command]
pub fn cancel_job(runtime: State<'_, Runtime>, id: JobId) -> AppResult<()> {
    Ok(runtime.engine()?.cancel(id)?)
}

#[tauri::command]
pub fn retry_job(runtime: State<'_, Runtime>, id: JobId) -> AppResult<()> {
    Ok(runtime.engine()?.retry(id)?)
}

/// Opens the job's HLS folder in the file manager.
#[tauri::command]
pub fn open_output(app: tauri::AppHandle, runtime: State<'_, Runtime>, id: JobId) -> AppResult<()> {
    let report = runtime.engine()?.report(id)?;
    let dir = report
        .output_dir
        .filter(|dir| Path::new(dir).is_dir())
        .ok_or_else(|| {
            AppError::new(
                ErrorCode::WrongState,
                format!("job {id} has no output folder on this machine"),
            )
        })?;
    app.opener()
        .open_path(dir, None::<&str>)
        .map_err(|e| AppError::new(ErrorCode::Internal, format!("cannot open the folder: {e}")))
}

/// The job's log, oldest line first: the detail view shows its tail.
#[tauri::command]
pub fn job_log(runtime: State<'_, Runtime>, id: JobId) -> AppResult<Vec<JobLogLine>> {
    Ok(runtime.engine()?.job_log(id)?)
}

/// Writes the job's log to `job.log` in its folder and opens it.
#[tauri::command]
pub fn open_job_log(
    app: tauri::AppHandle,
    runtime: State<'_, Runtime>,
    id: JobId,
) -> AppResult<()> {
    let path = runtime.engine()?.write_job_log(id)?;
    app.opener()
        .open_path(path.to_string_lossy(), None::<&str>)
        .map_err(|e| AppError::new(ErrorCode::Internal, format!("cannot open the log: {e}")))
}

/// Opens the job's manifest through the first download gateway.
#[tauri::command]
pub fn open_in_gateway(
    app: tauri::AppHandle,
    runtime: State<'_, Runtime>,
    id: JobId,
) -> AppResult<()> {
    let engine = runtime.engine()?;
    let cid = engine
        .report(id)?
        .cid
        .ok_or_else(|| AppError::new(ErrorCode::WrongState, format!("job {id} has no CID yet")))?;
    let gateway = engine
        .config()
        .downloads
        .gateways
        .first()
        .map(|g| g.as_str().trim_end_matches('/').to_owned())
        .unwrap_or_else(|| "https://ipfs.io".into());
    app.opener()
        .open_url(format!("{gateway}/ipfs/{cid}/manifest.m3u8"), None::<&str>)
        .map_err(|e| AppError::new(ErrorCode::Internal, format!("cannot open the browser: {e}")))
}
