//! The one place the page (the Code view, `threadlab.python`) meets the runtime that runs a
//! student's program (`web::program`, issue 14): its `ProgramRun` and `ProgramEvent`, by name.
//!
//! Until that runtime is in this build, a stand-in with the same signatures says so when
//! asked to start a program; nothing is ever faked.

use crate::core::program::{OutputChunk, ProgramOptions, ProgramResult};

/// What a running program reports, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum ProgramEvent {
    Output(Vec<OutputChunk>),
    Done(ProgramResult),
}

pub struct ProgramRun;

#[derive(Clone, Debug)]
pub struct Stopper;

impl Stopper {
    pub fn stop(&self) {}
}

impl ProgramRun {
    /// # Errors
    /// Always, until the runtime is in this build.
    pub fn start(_source: String, _options: ProgramOptions) -> Result<ProgramRun, String> {
        Err("This build cannot run programs yet: the Python runtime of issue 14 is not in it.".to_owned())
    }

    pub async fn next(&mut self) -> ProgramEvent {
        ProgramEvent::Done(ProgramResult::default())
    }

    #[must_use]
    pub fn stopper(&self) -> Stopper {
        Stopper
    }
}

/// Starts the runtime's workers ahead of the first program.
pub fn warm_up() {}
