//! Which renditions to make from a source: the ladder, never upscaled.

use serde::{Deserialize, Serialize};

use crate::probe::VideoInfo;

/// One rung of the ladder as configured. `size` is the short side of the
/// picture: 720 means 1280x720 for landscape and 720x1280 for portrait.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Rung {
    pub name: String,
    pub size: u32,
    pub video_kbps: u32,
    pub max_video_kbps: u32,
    pub audio_kbps: u32,
}

impl Rung {
    fn new(name: &str, size: u32, video_kbps: u32, max_video_kbps: u32, audio_kbps: u32) -> Rung {
        Rung {
            name: name.to_owned(),
            size,
            video_kbps,
            max_video_kbps,
            audio_kbps,
        }
    }

    /// What is wrong with this rung, if anything. Its name becomes file
    /// names under `hls/` (`<name>/index.m3u8`, `<name>_<n>.ts`), so it is
    /// kept to letters, digits, `-` and `_`: a `/` or `..` would put
    /// FFmpeg's output elsewhere.
    pub fn problem(&self) -> Option<String> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 32
            && self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
        if !name_ok {
            return Some(format!(
                "rung name {:?} must be 1 to 32 letters, digits, '-' or '_'",
                self.name
            ));
        }
        if self.size < 16 || self.video_kbps == 0 || self.audio_kbps == 0 {
            return Some(format!(
                "rung {:?} needs a size of at least 16 and bitrates above 0",
                self.name
            ));
        }
        if self.max_video_kbps < self.video_kbps {
            return Some(format!(
                "rung {:?}: max_video_kbps ({}) is below video_kbps ({})",
                self.name, self.max_video_kbps, self.video_kbps
            ));
        }
        None
    }
}

/// The ladder 3Speak players expect: 1080p 5000k (max 5350k), 720p 2800k,
/// 480p 1400k; audio 128k, 128k, 96k. The maximum rates of the lower rungs
/// keep 1080p's 7% headroom.
pub fn default_ladder() -> Vec<Rung> {
    vec![
        Rung::new("1080p", 1080, 5000, 5350, 128),
        Rung::new("720p", 720, 2800, 2996, 128),
        Rung::new("480p", 480, 1400, 1498, 96),
    ]
}

/// A rung chosen for a particular source, with its exact output size.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedRung {
    pub rung: Rung,
    pub width: u32,
    pub height: u32,
}

/// The rungs to encode for `video`, largest first. Each rung is a 16:9 box
/// (`1080p` is 1920x1080; 1080x1920 for a portrait source), and a source
/// gets every rung whose box it reaches in width or height, scaled to fit
/// inside the box with its own aspect ratio: a 1920x800 film gets 1080p at
/// 1920x800, and nothing is ever upscaled. A source smaller than every box
/// is encoded once at its own size (rounded down to even numbers, as H.264
/// needs), named after its short side and given the smallest rung's
/// bitrates.
pub fn plan(ladder: &[Rung], video: &VideoInfo) -> Vec<PlannedRung> {
    let mut rungs: Vec<&Rung> = ladder.iter().filter(|r| reaches(video, r)).collect();
    rungs.sort_by_key(|r| std::cmp::Reverse(r.size));
    let mut planned: Vec<PlannedRung> = rungs.into_iter().map(|r| fit(r, video)).collect();
    if planned.is_empty() {
        if let Some(smallest) = ladder.iter().min_by_key(|r| r.size) {
            let size = even(video.width.min(video.height));
            planned.push(PlannedRung {
                rung: Rung {
                    name: format!("{size}p"),
                    size,
                    ..smallest.clone()
                },
                width: even(video.width),
                height: even(video.height),
            });
        }
    }
    planned
}

/// A rung's box for `video`: 16:9, turned for a portrait source.
fn box_of(rung: &Rung, video: &VideoInfo) -> (u64, u64) {
    let short = u64::from(rung.size);
    let long = scaled_even(16, short, 9);
    match video.width >= video.height {
        true => (long, short),
        false => (short, long),
    }
}

/// Whether the source fills the rung's box in width or height, so fitting
/// it inside never scales it up.
fn reaches(video: &VideoInfo, rung: &Rung) -> bool {
    let (box_w, box_h) = box_of(rung, video);
    u64::from(video.width) >= box_w || u64::from(video.height) >= box_h
}

fn fit(rung: &Rung, video: &VideoInfo) -> PlannedRung {
    let (w, h) = (u64::from(video.width), u64::from(video.height));
    let (box_w, box_h) = box_of(rung, video);
    // Wider than the box: its width is the box's; else its height.
    let (width, height) = if w * box_h >= h * box_w {
        (box_w, scaled_even(h, box_w, w))
    } else {
        (scaled_even(w, box_h, h), box_h)
    };
    PlannedRung {
        rung: rung.clone(),
        width: width as u32,
        height: height as u32,
    }
}

/// `long * short_target / short` rounded to the nearest even number, as
/// FFmpeg's `scale=-2` does (1920x1080 at 480 is 854x480).
fn scaled_even(long: u64, short_target: u64, short: u64) -> u64 {
    (2 * ((long * short_target + short) / (2 * short))).max(2)
}

fn even(n: u32) -> u32 {
    (n & !1).max(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn video(width: u32, height: u32) -> VideoInfo {
        VideoInfo {
            codec: "h264".into(),
            width,
            height,
            fps: Some(30.0),
        }
    }

    fn sizes(planned: &[PlannedRung]) -> Vec<(&str, u32, u32)> {
        planned
            .iter()
            .map(|p| (p.rung.name.as_str(), p.width, p.height))
            .collect()
    }

    #[test]
    fn a_1080p_source_gets_the_whole_ladder() {
        let planned = plan(&default_ladder(), &video(1920, 1080));
        assert_eq!(
            sizes(&planned),
            [
                ("1080p", 1920, 1080),
                ("720p", 1280, 720),
                ("480p", 854, 480)
            ]
        );
    }

    #[test]
    fn a_720p_source_is_never_upscaled() {
        let planned = plan(&default_ladder(), &video(1280, 720));
        assert_eq!(sizes(&planned), [("720p", 1280, 720), ("480p", 854, 480)]);
    }

    #[test]
    fn a_4k_source_tops_out_at_the_highest_rung() {
        let planned = plan(&default_ladder(), &video(3840, 2160));
        assert_eq!(planned[0].width, 1920);
        assert_eq!(planned.len(), 3);
    }

    #[test]
    fn a_portrait_source_keeps_its_orientation() {
        let planned = plan(&default_ladder(), &video(1080, 1920));
        assert_eq!(
            sizes(&planned),
            [
                ("1080p", 1080, 1920),
                ("720p", 720, 1280),
                ("480p", 480, 854)
            ]
        );
    }

    #[test]
    fn odd_aspect_ratios_give_even_sizes() {
        let planned = plan(&default_ladder(), &video(1440, 1080));
        assert_eq!(sizes(&planned)[2], ("480p", 640, 480));
        let cinema = plan(&default_ladder(), &video(2048, 858));
        assert!(cinema.iter().all(|p| p.width % 2 == 0 && p.height % 2 == 0));
        assert_eq!(
            sizes(&cinema),
            [
                ("1080p", 1920, 804),
                ("720p", 1280, 536),
                ("480p", 854, 358)
            ]
        );
    }

    #[test]
    fn a_wide_film_fits_its_16_by_9_box_rather_than_its_short_side() {
        let planned = plan(&default_ladder(), &video(1920, 800));
        assert_eq!(sizes(&planned)[0], ("1080p", 1920, 800));
        let tall = plan(&default_ladder(), &video(800, 1920));
        assert_eq!(sizes(&tall)[0], ("1080p", 800, 1920), "the same, turned");
        let square = plan(&default_ladder(), &video(1080, 1080));
        assert_eq!(sizes(&square)[0], ("1080p", 1080, 1080));
    }

    #[test]
    fn a_source_below_every_rung_is_encoded_at_its_own_size() {
        let planned = plan(&default_ladder(), &video(640, 360));
        assert_eq!(sizes(&planned), [("360p", 640, 360)]);
        let odd = plan(&default_ladder(), &video(701, 301));
        assert_eq!(sizes(&odd), [("300p", 700, 300)]);
        assert_eq!(planned[0].rung.video_kbps, 1400);
    }
}
