//! Finishing and checking the HLS folder FFmpeg wrote.
//!
//! FFmpeg cannot put the rung name in both the folder and the segment name,
//! so segments are written as `<rung>/seg_<n>.ts` and renamed here to the
//! `<rung>/<rung>_<n>.ts` layout 3Speak's players and tools know. Then the
//! folder is checked the way a player would read it, and the master
//! playlist's RESOLUTION values are set from the real size of each rung's
//! first segment.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::encode::{EncodeError, Rendition};
use crate::ladder::PlannedRung;
use crate::Tools;

/// The master playlist at the root of every HLS folder we make.
pub const MASTER_PLAYLIST: &str = "manifest.m3u8";
/// Each rung's media playlist, inside the rung's folder.
pub const MEDIA_PLAYLIST: &str = "index.m3u8";
/// The segment name FFmpeg writes before [`adopt_segment_names`].
pub(crate) const FFMPEG_SEGMENT_PREFIX: &str = "seg_";

/// Renames `seg_<n>.ts` to `<rung>_<n>.ts` in every rung folder and rewrites
/// the media playlists to match.
pub(crate) fn adopt_segment_names(
    out_dir: &Path,
    rungs: &[PlannedRung],
) -> Result<(), EncodeError> {
    for planned in rungs {
        let name = &planned.rung.name;
        let dir = out_dir.join(name);
        let playlist_path = dir.join(MEDIA_PLAYLIST);
        let playlist = read(&playlist_path)?;
        let mut rewritten = String::with_capacity(playlist.len());
        for line in playlist.lines() {
            match line.strip_prefix(FFMPEG_SEGMENT_PREFIX) {
                Some(rest) if !line.starts_with('#') => {
                    let new_name = format!("{name}_{rest}");
                    rename(&dir.join(line), &dir.join(&new_name))?;
                    rewritten.push_str(&new_name);
                }
                _ => rewritten.push_str(line),
            }
            rewritten.push('\n');
        }
        write(&playlist_path, &rewritten)?;
    }
    Ok(())
}

/// Checks the finished folder and returns the renditions as they really
/// are. Fails when a player would fail: a rung missing from the master
/// playlist, a media playlist that is unfinished or names a missing or empty
/// segment, or output much shorter than the source. Anything else in the
/// folder is left alone: only what the playlists name is ever published
/// ([`hls_files`]), so neither the source nor a file manager's litter can be.
pub(crate) fn check_output(
    tools: &Tools,
    out_dir: &Path,
    rungs: &[PlannedRung],
    source_secs: Option<f64>,
) -> Result<Vec<Rendition>, EncodeError> {
    let master_path = out_dir.join(MASTER_PLAYLIST);
    let mut master = read(&master_path)?;
    let mut renditions = Vec::with_capacity(rungs.len());
    for planned in rungs {
        let name = &planned.rung.name;
        let uri = format!("{name}/{MEDIA_PLAYLIST}");
        let first_segment = check_media_playlist(&out_dir.join(name), source_secs)?;
        let (width, height) = segment_size(tools, &first_segment)?;
        master = set_resolution(&master, &uri, width, height)
            .ok_or_else(|| invalid(format!("{MASTER_PLAYLIST} does not list {uri}")))?;
        renditions.push(Rendition {
            name: name.clone(),
            width,
            height,
        });
    }
    write(&master_path, &master)?;
    Ok(renditions)
}

/// Returns the first segment of a finished, complete media playlist.
fn check_media_playlist(dir: &Path, source_secs: Option<f64>) -> Result<PathBuf, EncodeError> {
    let path = dir.join(MEDIA_PLAYLIST);
    let text = read(&path)?;
    if !text.lines().any(|l| l.trim() == "#EXT-X-ENDLIST") {
        return Err(invalid(format!(
            "{} is unfinished (no #EXT-X-ENDLIST)",
            path.display()
        )));
    }
    let mut total_secs = 0.0;
    let mut segments = Vec::new();
    for line in text.lines().map(str::trim) {
        if let Some(duration) = line.strip_prefix("#EXTINF:") {
            total_secs += duration
                .split(',')
                .next()
                .and_then(|d| d.parse::<f64>().ok())
                .unwrap_or(0.0);
        } else if !line.is_empty() && !line.starts_with('#') {
            let segment = dir.join(line);
            let len = std::fs::metadata(&segment).map(|m| m.len()).unwrap_or(0);
            if len == 0 {
                return Err(invalid(format!(
                    "{} names {line}, which is missing or empty",
                    path.display()
                )));
            }
            segments.push(segment);
        }
    }
    // Video and audio may end a little apart; much shorter output means the
    // encode stopped early.
    if let Some(source) = source_secs {
        if total_secs < source * 0.9 - 0.5 {
            return Err(invalid(format!(
                "{} covers {total_secs:.1}s of a {source:.1}s source",
                path.display()
            )));
        }
    }
    segments
        .into_iter()
        .next()
        .ok_or_else(|| invalid(format!("{} lists no segment", path.display())))
}

/// Width and height of the video in a segment, from ffprobe.
fn segment_size(tools: &Tools, segment: &Path) -> Result<(u32, u32), EncodeError> {
    let output = tools
        .command(&tools.ffprobe)
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=width,height",
            "-of",
            "csv=p=0",
        ])
        .arg(segment)
        .output()
        .map_err(|e| EncodeError::ToolMissing {
            tool: tools.ffprobe.display().to_string(),
            reason: e.to_string(),
        })?;
    // MPEG-TS files list the stream again under their program: first line only.
    let text = String::from_utf8_lossy(&output.stdout);
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    let mut numbers = first.split(',').map(|n| n.trim().parse::<u32>());
    match (numbers.next(), numbers.next()) {
        (Some(Ok(w)), Some(Ok(h))) if output.status.success() => Ok((w, h)),
        _ => Err(invalid(format!(
            "{} has no readable video stream",
            segment.display()
        ))),
    }
}

/// Sets `RESOLUTION=WxH` on the `#EXT-X-STREAM-INF` line that precedes
/// `uri`. `None` when the playlist does not list `uri`.
pub(crate) fn set_resolution(master: &str, uri: &str, width: u32, height: u32) -> Option<String> {
    let lines: Vec<&str> = master.lines().collect();
    let at = lines.iter().position(|l| l.trim() == uri)?;
    let info_at = (0..at)
        .rev()
        .find(|&i| lines[i].starts_with("#EXT-X-STREAM-INF:"))?;
    let resolution = format!("RESOLUTION={width}x{height}");
    let attributes = &lines[info_at]["#EXT-X-STREAM-INF:".len()..];
    let mut parts: Vec<String> = split_attributes(attributes)
        .into_iter()
        .filter(|a| !a.starts_with("RESOLUTION="))
        .collect();
    let position = parts
        .iter()
        .position(|a| a.starts_with("BANDWIDTH="))
        .map_or(0, |p| p + 1);
    parts.insert(position, resolution);
    let new_info = format!("#EXT-X-STREAM-INF:{}", parts.join(","));
    let mut out: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
    out[info_at] = new_info;
    Some(out.join("\n") + "\n")
}

/// Splits an attribute list at commas outside quotes (CODECS="a,b" stays whole).
fn split_attributes(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in text.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ',' if !quoted => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    if !current.is_empty() {
        parts.push(current);
    }
    parts
}

/// The files of the HLS folder at `out_dir`, as its playlists name them
/// (`/`-separated, relative): the master playlist, each rung's media
/// playlist and its segments. Whatever else is in the folder (a
/// `.DS_Store` a file manager wrote, a copied note) is not ours and is
/// never published.
pub fn hls_files(out_dir: &Path) -> Result<BTreeSet<String>, EncodeError> {
    let mut files = BTreeSet::from([MASTER_PLAYLIST.to_owned()]);
    let master = read(&out_dir.join(MASTER_PLAYLIST))?;
    for media in uris(&master) {
        let rung = media.rsplit_once('/').map_or("", |(dir, _)| dir);
        let playlist = read(&out_dir.join(media))?;
        for segment in uris(&playlist) {
            files.insert(match rung {
                "" => segment.to_owned(),
                rung => format!("{rung}/{segment}"),
            });
        }
        files.insert(media.to_owned());
    }
    Ok(files)
}

/// One file of an encode's HLS folder, as the encode left it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HlsFile {
    /// Relative to the folder, `/`-separated.
    pub path: String,
    pub bytes: u64,
}

/// The files of the HLS folder at `out_dir` ([`hls_files`]) with their
/// sizes: what an encode records, to know later whether it is still there.
pub fn hls_listing(out_dir: &Path) -> Result<Vec<HlsFile>, EncodeError> {
    hls_files(out_dir)?
        .into_iter()
        .map(|path| {
            let file = out_dir.join(&path);
            let bytes = std::fs::metadata(&file).map_err(|e| io(&file, e))?.len();
            Ok(HlsFile { path, bytes })
        })
        .collect()
}

/// How the HLS folder at `out_dir` differs from what its encode recorded
/// (`recorded`, from [`hls_listing`]): the first file missing or of
/// another size, or a playlist naming other files. `None` when it is as
/// the encode left it. Files the playlists do not name are not looked at.
pub fn hls_changes(out_dir: &Path, recorded: &[HlsFile]) -> Option<String> {
    for file in recorded {
        match std::fs::metadata(out_dir.join(&file.path)) {
            Err(e) => return Some(format!("{} is gone ({e})", file.path)),
            Ok(meta) if meta.len() != file.bytes => {
                return Some(format!(
                    "{} is {} bytes, and the encode wrote {}",
                    file.path,
                    meta.len(),
                    file.bytes
                ))
            }
            Ok(_) => {}
        }
    }
    let named = match hls_files(out_dir) {
        Ok(named) => named,
        Err(e) => return Some(format!("its playlists cannot be read: {e}")),
    };
    let kept: BTreeSet<&str> = recorded.iter().map(|f| f.path.as_str()).collect();
    named
        .iter()
        .find(|path| !kept.contains(path.as_str()))
        .map(|path| format!("its playlists now name {path}, which the encode did not write"))
}

/// Flushes every file of the folder, and the folders themselves (where
/// the OS allows opening one), to the disk.
pub(crate) fn sync_folder(dir: &Path) -> Result<(), EncodeError> {
    for entry in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
        let path = entry.map_err(|e| io(dir, e))?.path();
        if path.is_dir() {
            sync_folder(&path)?;
        } else {
            std::fs::File::open(&path)
                .and_then(|file| file.sync_all())
                .map_err(|e| io(&path, e))?;
        }
    }
    // A folder's own entries (the renames) are its data: on Unix it can be
    // opened and synced; Windows has no such call, and needs none.
    #[cfg(unix)]
    std::fs::File::open(dir)
        .and_then(|folder| folder.sync_all())
        .map_err(|e| io(dir, e))?;
    Ok(())
}

/// A playlist's URI lines: every line that is neither empty nor a tag.
fn uris(playlist: &str) -> impl Iterator<Item = &str> {
    playlist
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
}

fn read(path: &Path) -> Result<String, EncodeError> {
    std::fs::read_to_string(path).map_err(|e| io(path, e))
}

fn write(path: &Path, text: &str) -> Result<(), EncodeError> {
    let tmp = path.with_extension("m3u8.tmp");
    std::fs::write(&tmp, text).map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))
}

fn rename(from: &Path, to: &Path) -> Result<(), EncodeError> {
    std::fs::rename(from, to).map_err(|e| io(from, e))
}

fn io(path: &Path, source: std::io::Error) -> EncodeError {
    EncodeError::Io {
        path: path.to_owned(),
        source,
    }
}

fn invalid(detail: String) -> EncodeError {
    EncodeError::InvalidOutput(detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MASTER: &str = "#EXTM3U\n#EXT-X-VERSION:6\n\
        #EXT-X-STREAM-INF:BANDWIDTH=3220800,RESOLUTION=1280x720,CODECS=\"avc1.64001f,mp4a.40.2\"\n720p/index.m3u8\n\n\
        #EXT-X-STREAM-INF:BANDWIDTH=1645600,CODECS=\"avc1.64001e,mp4a.40.2\"\n480p/index.m3u8\n";

    #[test]
    fn resolution_is_replaced_where_present_and_added_where_missing() {
        let fixed = set_resolution(MASTER, "720p/index.m3u8", 1280, 718).unwrap();
        let fixed = set_resolution(&fixed, "480p/index.m3u8", 854, 480).unwrap();
        assert!(fixed.contains(
            "#EXT-X-STREAM-INF:BANDWIDTH=3220800,RESOLUTION=1280x718,CODECS=\"avc1.64001f,mp4a.40.2\"\n720p/index.m3u8"
        ));
        assert!(fixed.contains(
            "#EXT-X-STREAM-INF:BANDWIDTH=1645600,RESOLUTION=854x480,CODECS=\"avc1.64001e,mp4a.40.2\"\n480p/index.m3u8"
        ));
    }

    /// An HLS folder with `MASTER`'s two rungs of two segments each.
    fn hls_folder() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(MASTER_PLAYLIST), MASTER).unwrap();
        for rung in ["720p", "480p"] {
            std::fs::create_dir(dir.path().join(rung)).unwrap();
            let media = format!("#EXTM3U\n#EXTINF:6,\n{rung}_0.ts\n#EXTINF:6,\n{rung}_1.ts\n");
            std::fs::write(dir.path().join(rung).join(MEDIA_PLAYLIST), media).unwrap();
            for n in 0..2 {
                std::fs::write(dir.path().join(format!("{rung}/{rung}_{n}.ts")), [0u8; 188])
                    .unwrap();
            }
        }
        dir
    }

    #[test]
    fn a_folder_as_its_encode_left_it_has_no_changes_whatever_was_added_beside() {
        let dir = hls_folder();
        let recorded = hls_listing(dir.path()).unwrap();
        assert_eq!(recorded.len(), 7, "{recorded:?}");
        std::fs::write(dir.path().join(".DS_Store"), "finder").unwrap();

        assert_eq!(hls_changes(dir.path(), &recorded), None);
    }

    #[test]
    fn a_missing_or_resized_segment_or_a_rewritten_playlist_is_a_change_that_names_the_file() {
        let dir = hls_folder();
        let recorded = hls_listing(dir.path()).unwrap();
        std::fs::remove_file(dir.path().join("480p/480p_1.ts")).unwrap();
        let change = hls_changes(dir.path(), &recorded).unwrap();
        assert!(change.starts_with("480p/480p_1.ts is gone"), "{change}");

        let dir = hls_folder();
        std::fs::write(dir.path().join("720p/720p_0.ts"), [0u8; 100]).unwrap();
        let change = hls_changes(dir.path(), &recorded).unwrap();
        assert_eq!(
            change,
            "720p/720p_0.ts is 100 bytes, and the encode wrote 188"
        );

        let dir = hls_folder();
        let media = "#EXTM3U\n#EXTINF:6,\n720p_0.ts\n#EXTINF:6,\n720p_9.ts\n";
        // Same length as the playlist the encode wrote.
        std::fs::write(dir.path().join("720p").join(MEDIA_PLAYLIST), media).unwrap();
        let change = hls_changes(dir.path(), &recorded).unwrap();
        assert!(change.contains("720p/720p_9.ts"), "{change}");
    }

    #[test]
    fn a_rung_missing_from_the_master_playlist_is_reported() {
        assert_eq!(set_resolution(MASTER, "1080p/index.m3u8", 1920, 1080), None);
    }
}
