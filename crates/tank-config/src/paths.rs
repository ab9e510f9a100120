//! Where the config file and the data directory are: given explicitly
//! (`--config`, `TANK_CONFIG`, `--data-dir`, `TANK_DATA_DIR`), else the
//! platform's folders, shared by `tank` and the desktop app so both see the
//! same jobs.

use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub config: PathBuf,
    /// Given explicitly: a missing file is an error, not "all defaults".
    pub config_required: bool,
    pub data_dir: PathBuf,
}

impl Paths {
    pub fn resolve(config: Option<PathBuf>, data_dir: Option<PathBuf>) -> Result<Paths, String> {
        let dirs = directories::ProjectDirs::from("tv", "3speak", "tank-encoder");
        let (config, config_required) = match (config, &dirs) {
            (Some(path), _) => (path, true),
            (None, Some(dirs)) => (dirs.config_dir().join("config.toml"), false),
            (None, None) => return Err("no home directory: give the config file's path".into()),
        };
        let data_dir = match (data_dir, &dirs) {
            (Some(dir), _) => dir,
            (None, Some(dirs)) => dirs.data_dir().to_owned(),
            (None, None) => return Err("no home directory: give the data directory".into()),
        };
        Ok(Paths {
            config,
            config_required,
            data_dir,
        })
    }
}
