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
        tank_engine::JobState::decl(&cfg),
        tank_engine::JobSummary::decl(&cfg),
        tank_engine::JobReport::decl(&cfg),
        tank_engine::Attempt::decl(&cfg),
        tank_engine::Replica::decl(&cfg),
        tank_engine::StateChange::decl(&cfg),
        tank_engine::AuditRecord::decl(&cfg),
        tank_engine::AuditOutcome::decl(&cfg),
        tank_engine::JobEvent::decl(&cfg),
        tank_engine::JobLogLine::decl(&cfg),
        tank_engine::LogTone::decl(&cfg),
        tank_media::EncodeProgress::decl(&cfg),
        tank_media::Rendition::decl(&cfg),
        // The 3Speak gateway
        tank_engine::GatewayClaim::decl(&cfg),
        serde_json::Value::decl(&cfg),
        tank_engine::GatewayPhase::decl(&cfg),
        tank_engine::Report::decl(&cfg),
        tank_engine::GatewayStatus::decl(&cfg),
        tank_engine::GatewayMode::decl(&cfg),
        tank_engine::IdentitySource::decl(&cfg),
        // Nodes
        tank_engine::NodeReport::decl(&cfg),
        tank_engine::NodeStatus::decl(&cfg),
        tank_engine::HealthRow::decl(&cfg),
        tank_engine::HealthSample::decl(&cfg),
        tank_engine::NodeKind::decl(&cfg),
        tank_engine::NodeRole::decl(&cfg),
        tank_engine::AuthKind::decl(&cfg),
        tank_engine::LocalNodeAction::decl(&cfg),
        tank_engine::LocalNodeReport::decl(&cfg),
        tank_engine::LocalNodeEvent::decl(&cfg),
        tank_node::LocalStatus::decl(&cfg),
        tank_node::Running::decl(&cfg),
        // Settings
        tank_engine::Settings::decl(&cfg),
        tank_engine::NodeSettings::decl(&cfg),
        tank_engine::AlertSettings::decl(&cfg),
        tank_engine::AlertKind::decl(&cfg),
        tank_engine::FieldError::decl(&cfg),
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
