//! `probing` and `encoding`: what the source is, then the HLS ladder.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use tank_media::{encode_ladder, plan, probe, EncodeError, LadderJob, SourceInfo};

use super::{Outcome, Stage};
use tank_model::JobEvent;
use tank_store::Field;

/// Progress is written to the store at most this often.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// The HLS output folder inside a job's folder.
pub(crate) fn output_dir(work_dir: &str) -> PathBuf {
    Path::new(work_dir).join("hls")
}

pub(crate) async fn probe_source(stage: &Stage<'_>) -> Outcome {
    let source = PathBuf::from(stage.committed(&stage.job.source_path, "source path"));
    let tools = stage.tools.clone();
    let probed = tokio::task::spawn_blocking(move || probe(&tools, &source))
        .await
        .expect("probing does not panic");
    // A downloaded source is named by where it came from: the file in the
    // job's folder means nothing to whoever gave the URL.
    let input = tank_model::JobInput::from_stored(&stage.job.input);
    let named = |e: tank_media::ProbeError| match input {
        tank_model::JobInput::File(_) => e.to_string(),
        _ => format!("downloaded input {}: {e}", stage.job.input),
    };
    match probed {
        Ok(info) => Outcome::Done(vec![Field::SourceInfo(info)]),
        Err(e) if e.is_bad_input() => Outcome::bad_input(named(e)),
        Err(e) => Outcome::infrastructure(e),
    }
}

pub(crate) async fn encode(stage: &Stage<'_>) -> Outcome {
    let source = PathBuf::from(stage.committed(&stage.job.source_path, "source path"));
    let info: SourceInfo = stage
        .committed(&stage.job.source_info, "source info")
        .clone();
    let out = output_dir(&stage.job.work_dir);
    // The job's source may allow fewer rungs, or less time, than the ladder.
    let rules = stage.job.rules;
    let rungs = plan(&rules.ladder(&stage.config.encoding.rungs), &info.video);
    let seconds = info.duration_secs.map(|duration| {
        rules
            .max_seconds
            .map_or(duration, |max| duration.min(f64::from(max)))
    });
    let segment_secs = match (rules.adaptive_segments, seconds) {
        (true, Some(cut)) => tank_media::adaptive_segment_secs(cut),
        _ => stage.config.encoding.segment_seconds,
    };
    if let (true, Some(seconds)) = (stage.config.jobs.free_space_check, seconds) {
        // At the rungs' maximum rates, with a tenth more for containers.
        let kbps: u32 = rungs
            .iter()
            .map(|r| r.rung.max_video_kbps + r.rung.audio_kbps)
            .sum();
        let needed = (f64::from(kbps) * 1000.0 / 8.0 * seconds * 1.1) as u64;
        if let Some(free) = crate::disk::free_bytes(&out) {
            if free < needed {
                return Outcome::infrastructure(format!(
                    "not enough disk space for the encode: it needs about {}, and {}",
                    crate::disk::mebibytes(needed),
                    stage.disk.describe()
                ));
            }
        }
    }
    let (tools, codec, encoding) = (
        stage.tools.clone(),
        stage.config.codec(),
        stage.config.encoding.clone(),
    );
    let (store, events, job, cancel) = (
        stage.store.clone(),
        stage.events.clone(),
        stage.job.id,
        stage.cancel.clone(),
    );
    let out_for_encode = out.clone();
    let job_lock = stage.job_lock.clone();

    let encoded = tokio::task::spawn_blocking(move || {
        // Until FFmpeg has stopped, even when the run was dropped.
        let _job_lock = job_lock;
        let save = |progress: &tank_media::EncodeProgress| {
            let _ = store.set_progress(job, progress);
        };
        let mut last: Option<(Instant, tank_media::EncodeProgress)> = None;
        let mut on_progress = |progress: tank_media::EncodeProgress| {
            events.send(JobEvent::Encode { job, progress });
            if last.is_none_or(|(saved, _)| saved.elapsed() >= PROGRESS_EVERY) {
                save(&progress);
                last = Some((Instant::now(), progress));
            } else if let Some((_, latest)) = last.as_mut() {
                *latest = progress;
            }
        };
        let ladder = LadderJob {
            tools: &tools,
            source: &source,
            info: &info,
            rungs: &rungs,
            output_dir: &out_for_encode,
            preset: &encoding.preset,
            downscaled_preset: &encoding.downscaled_preset,
            crf: encoding.crf,
            segment_secs,
            max_secs: rules.max_seconds,
            max_fps: rules.max_fps,
            silent_audio: rules.silent_audio,
        };
        let encoded = encode_ladder(&ladder, codec, &cancel, &mut on_progress)?;

        // The CID the upload must come back with, from the same bytes.
        let expected_cid = super::upload::published(&out_for_encode)
            .and_then(|entries| tank_ipfs::entries_cid(&entries).map_err(|e| e.to_string()))
            .map_err(|e| EncodeError::InvalidOutput(format!("cannot hash the HLS folder: {e}")))?;
        // What the upload checks the folder against.
        let files = tank_media::hls_listing(&out_for_encode)?;
        Ok::<_, EncodeError>((encoded, expected_cid, files, last.map(|(_, latest)| latest)))
    })
    .await
    .expect("encoding does not panic");

    match encoded {
        Ok((encoded, expected_cid, files, progress)) => {
            if let Some(reason) = &encoded.fallback_reason {
                tracing::warn!(job, reason, "hardware encoder failed; used libx264");
            }
            let mut outputs = vec![
                Field::OutputDir(out.display().to_string()),
                Field::Renditions(encoded.renditions),
                Field::Encoder(encoded.encoder.ffmpeg_name().to_owned()),
                Field::ExpectedCid(expected_cid),
                Field::OutputFiles(files),
            ];
            // The last progress is committed with the move on.
            outputs.extend(progress.map(Field::Progress));
            Outcome::Done(outputs)
        }
        Err(EncodeError::Cancelled) if stage.cancel.load(Ordering::Relaxed) => Outcome::Stopped,
        Err(e) => {
            let disk_full = e.is_disk_full() || crate::disk::is_full(&out);
            // A redo starts over: what a failed encode left only takes space
            // (all of it, when the disk filled up).
            if let Err(removed) = std::fs::remove_dir_all(&out) {
                if removed.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!(dir = %out.display(), %removed, "cannot remove a failed encode's output");
                }
            }
            if disk_full {
                Outcome::infrastructure(format!(
                    "the disk is full: {e} ({} now that the partial output was removed)",
                    stage.disk.describe()
                ))
            } else if e.is_bad_input() {
                Outcome::bad_input(format!("cannot encode {}: {e}", stage.job.input))
            } else {
                Outcome::infrastructure(e)
            }
        }
    }
}
