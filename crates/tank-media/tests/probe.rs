//! Bad inputs are refused with a message naming the file and the reason.

use std::path::Path;

use tank_media::{probe, ProbeError, Tools};
use tank_testkit::clip::{audio_only, Clip};

fn refusal(path: &Path) -> ProbeError {
    probe(&Tools::discover(), path).unwrap_err()
}

#[test]
fn a_real_clip_is_described() {
    let dir = tempfile::tempdir().unwrap();
    let source = Clip::new(640, 360, 2.0).write(dir.path(), "clip.mp4");
    let info = probe(&Tools::discover(), &source).unwrap();
    assert_eq!((info.video.width, info.video.height), (640, 360));
    assert!((info.duration_secs.unwrap() - 2.0).abs() < 0.2);
    assert_eq!(info.audio.unwrap().codec, "aac");
    assert_eq!(info.video.fps, Some(24.0));
}

#[test]
fn a_missing_file() {
    let err = refusal(Path::new("/nonexistent/video.mp4"));
    assert!(matches!(err, ProbeError::Missing(_)));
    assert_eq!(
        err.to_string(),
        "input file /nonexistent/video.mp4 does not exist"
    );
}

#[test]
fn an_empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.mp4");
    std::fs::write(&path, b"").unwrap();
    let err = refusal(&path);
    assert_eq!(
        err.to_string(),
        format!("input file {} is empty (0 bytes)", path.display())
    );
    assert!(err.is_bad_input());
}

#[test]
fn a_text_file_posing_as_video() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.mp4");
    std::fs::write(&path, "these are my notes, not a video\n").unwrap();
    let err = refusal(&path);
    assert!(matches!(err, ProbeError::NotMedia { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "input file {} is not a video FFmpeg can read: ",
            path.display()
        )),
        "{text}"
    );
    assert!(text.contains("Invalid data"), "{text}");
}

#[test]
fn an_audio_file_has_no_video_stream() {
    let dir = tempfile::tempdir().unwrap();
    let path = audio_only(dir.path(), "song.m4a", 1.0);
    let err = refusal(&path);
    assert_eq!(
        err.to_string(),
        format!(
            "input file {} has no video stream (streams found: audio)",
            path.display()
        )
    );
}

#[test]
fn a_directory() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(refusal(dir.path()), ProbeError::NotAFile(_)));
}

#[test]
fn a_truncated_video_is_not_media() {
    let dir = tempfile::tempdir().unwrap();
    let source = Clip::new(640, 360, 2.0).write(dir.path(), "clip.mp4");
    let bytes = std::fs::read(&source).unwrap();
    let cut = dir.path().join("cut.mp4");
    std::fs::write(&cut, &bytes[..200]).unwrap();
    assert!(matches!(refusal(&cut), ProbeError::NotMedia { .. }));
}
