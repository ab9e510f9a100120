//! `tank secret`: store or remove a secret in the OS keyring.

use std::io::IsTerminal;
use std::process::ExitCode;

use tank_config::{Config, SecretError, Secrets};

use super::Failure;
use crate::args::SecretAction;

pub fn run(config: &Config, action: &SecretAction) -> Result<ExitCode, Failure> {
    let secrets = Secrets::new(&config.secrets.service);
    let failed = |e: SecretError| Failure::Runtime(e.to_string());
    match action {
        SecretAction::Set { key } => {
            // Typed at a terminal it is not echoed; piped in, it is one line.
            let value = if std::io::stdin().is_terminal() {
                rpassword::prompt_password(format!("{key}: "))
                    .map_err(|e| Failure::Runtime(e.to_string()))?
            } else {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .map_err(|e| Failure::Runtime(e.to_string()))?;
                line.trim_end_matches(['\r', '\n']).to_owned()
            };
            if value.is_empty() {
                return Err(Failure::Usage(format!("no value given for {key}")));
            }
            secrets.set(key, &value).map_err(failed)?;
            eprintln!("stored {key} in the OS keyring");
        }
        SecretAction::Delete { key } => {
            if secrets.delete(key).map_err(failed)? {
                eprintln!("removed {key} from the OS keyring");
            } else {
                eprintln!("{key} was not in the OS keyring");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
