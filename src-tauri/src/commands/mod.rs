//! The commands the window calls, one module per view. Each is a thin call
//! into the engine; what it returns and takes are engine types, declared in
//! TypeScript by `bindings.rs`.

pub mod app;
pub mod jobs;
pub mod nodes;
pub mod settings;
