//! The plain-Rust heart of ThreadLab: everything a student learns from, tested natively.

pub mod compact;
pub mod config;
pub mod editor;
pub mod engine;
pub mod export;
pub mod form;
pub mod gil;
pub mod kernel;
pub mod layout;
pub mod lesson;
pub mod live;
pub mod memory;
pub mod permalink;
pub mod plan;
pub mod presets;
pub mod program;
pub mod program_view;
pub mod programs;
pub mod protocol;
pub mod py;
pub mod python;
pub mod race;
pub mod runs;
pub mod runtime;
pub mod task;
pub mod timeline;
