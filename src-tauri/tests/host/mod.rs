//! The machine around the desktop app, as its tests and the idle benchmark
//! see it from outside: the X display its window is on (`x11.rs`) and the
//! processes it runs (`processes.rs`).

#![allow(dead_code)] // the tests and the benchmark use different parts

pub mod processes;
pub mod x11;
