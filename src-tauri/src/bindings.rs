//! TypeScript declarations of every type that crosses to the window,
//! generated from the Rust types (ts-rs) into `ui/src/bindings.ts`, so the
//! two sides are never written twice. A test fails when the checked-in
//! file is stale; `UPDATE_BINDINGS=1 cargo test -p tank-desktop bindings`
//! rewrites it.

use ts_rs::{Config, TS};

/// Where the declarations live, relative to this crate.
const BINDINGS_PATH: &str = "../ui/src/bindings.ts";

/// The file's contents.
fn typescript() -> String {
    // Our integers (ids, milliseconds, bytes) stay far below 2^53, and
    // serde_json writes them as plain numbers.
    let cfg = Config::new().with_large_int("number");
    let declarations = [
        // Jobs
        tank_model::JobState::decl(&cfg),
        tank_model::StageKind::decl(&cfg),
        tank_model::JobSummary::decl(&cfg),
        tank_model::JobReport::decl(&cfg),
        tank_model::Attempt::decl(&cfg),
        tank_model::Replica::decl(&cfg),
        tank_model::VerifiedReplica::decl(&cfg),
        tank_model::StateChange::decl(&cfg),
        tank_model::AuditRecord::decl(&cfg),
        tank_model::AuditOutcome::decl(&cfg),
        tank_model::JobEvent::decl(&cfg),
        tank_model::JobLogLine::decl(&cfg),
        tank_model::DiskUsage::decl(&cfg),
        tank_model::JobFolderSize::decl(&cfg),
        tank_model::LogTone::decl(&cfg),
        tank_media::EncodeProgress::decl(&cfg),
        tank_media::Rendition::decl(&cfg),
        // The legacy 3Speak gateway
        tank_model::GatewayClaim::decl(&cfg),
        serde_json::Value::decl(&cfg),
        tank_model::GatewayPhase::decl(&cfg),
        tank_model::Report::decl(&cfg),
        tank_daemon::GatewayStatus::decl(&cfg),
        tank_config::GatewayMode::decl(&cfg),
        tank_daemon::IdentitySource::decl(&cfg),
        // 3Speak's embed system
        tank_gateway::EncoderRecord::decl(&cfg),
        tank_model::EmbedClaim::decl(&cfg),
        tank_model::EmbedVia::decl(&cfg),
        tank_model::OutboxEntry::decl(&cfg),
        tank_model::OutboxStatus::decl(&cfg),
        // Nodes
        tank_model::HealthState::decl(&cfg),
        tank_daemon::NodeReport::decl(&cfg),
        tank_engine::NodeStatus::decl(&cfg),
        tank_model::HealthRow::decl(&cfg),
        tank_model::HealthSample::decl(&cfg),
        tank_config::NodeKind::decl(&cfg),
        tank_config::NodeRole::decl(&cfg),
        tank_config::AuthKind::decl(&cfg),
        tank_daemon::LocalNodeAction::decl(&cfg),
        tank_daemon::LocalNodeReport::decl(&cfg),
        tank_daemon::LocalNodeEvent::decl(&cfg),
        tank_node::LocalStatus::decl(&cfg),
        tank_node::Running::decl(&cfg),
        // Settings
        tank_config::Settings::decl(&cfg),
        tank_config::NodeSettings::decl(&cfg),
        tank_config::AlertSettings::decl(&cfg),
        tank_config::AlertKind::decl(&cfg),
        tank_config::ThreeSpeakSettings::decl(&cfg),
        tank_config::ThreeSpeakSource::decl(&cfg),
        tank_config::Purpose::decl(&cfg),
        tank_config::FieldError::decl(&cfg),
        tank_media::Rung::decl(&cfg),
        crate::commands::settings::SecretUpdate::decl(&cfg),
        // The app
        crate::commands::app::AppStatus::decl(&cfg),
        crate::error::AppError::decl(&cfg),
        crate::error::ErrorCode::decl(&cfg),
    ];
    let mut out = String::from(
        "// Generated from the Rust types by `UPDATE_BINDINGS=1 cargo test -p tank-desktop bindings`.\n// Do not edit by hand.\n",
    );
    for declaration in declarations {
        out.push_str("\nexport ");
        out.push_str(declaration.trim());
        out.push('\n');
    }
    out
}

mod tests {
    use super::*;

    #[test]
    fn bindings_are_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(BINDINGS_PATH);
        let fresh = typescript();
        if std::env::var_os("UPDATE_BINDINGS").is_some() {
            std::fs::write(&path, &fresh).unwrap();
        }
        let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            checked_in == fresh,
            "{} is stale: run `UPDATE_BINDINGS=1 cargo test -p tank-desktop bindings` and commit it",
            path.display()
        );
        assert!(!fresh.contains("bigint"), "integers cross as numbers");
    }
}
