//! Turns a source video into an HLS ladder with FFmpeg, for Tank Encoder.
//!
//! - [`probe`]: what the source is (`ffprobe -of json`), and a clear reason
//!   when it cannot be encoded (missing, empty, not media, no video).
//! - [`plan`]: which rungs of the ladder to make; never upscales.
//! - [`encode_ladder`]: one FFmpeg process that decodes the source once and
//!   writes every rung (`split` + `scale` + `-var_stream_map`), reporting
//!   progress, then checks the folder the way a player reads it.
//!
//! The output layout is the one 3Speak players know: `manifest.m3u8` at the
//! root, `<rung>/index.m3u8` and `<rung>/<rung>_<n>.ts` below it.
//!
//! Everything here is blocking (it waits on FFmpeg): async callers run it on
//! a blocking thread.

mod codec;
mod encode;
mod ladder;
mod playlist;
mod probe;
mod tools;

pub use codec::{CodecChoice, VideoEncoder, HARDWARE_ENCODERS, X264_PRESETS};
pub use encode::{
    adaptive_segment_secs, encode_ladder, encode_with, ffmpeg_args, EncodeError, EncodeProgress,
    Encoded, LadderJob, Rendition,
};
pub use ladder::{default_ladder, plan, PlannedRung, Rung};
pub use playlist::{hls_changes, hls_files, hls_listing, HlsFile, MASTER_PLAYLIST, MEDIA_PLAYLIST};
pub use probe::{probe, AudioInfo, ProbeError, SourceInfo, VideoInfo};
pub use tools::Tools;
