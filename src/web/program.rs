//! Where a student's Python program runs in the browser (issue 14, docs/python-vm.md §4, §6):
//! the page-side API the Code view and `threadlab.python` use.
//!
//! A program runs in a **process worker** (its own wasm instance and shared memory; its main
//! thread runs there, never on the page's thread). Its Python threads run on **thread
//! workers** the page starts on that same memory and keeps warm, parked until
//! `Host::spawn_thread` hands them a job. Every worker of the program posts its output
//! straight to the page; the page puts it back in the order it was written.
//!
//! One program runs at a time on a page. Dropping a [`ProgramRun`] before it is done stops
//! it (its workers are terminated).

use crate::core::program::{OutputChunk, ProgramOptions, ProgramResult};

/// What a running program reports to the page, in order.
#[derive(Clone, Debug, PartialEq)]
pub enum ProgramEvent {
    /// Output written since the last event, in the order the program wrote it.
    Output(Vec<OutputChunk>),
    /// The program ended (normally, with an error, stopped, timed out or crashed); the
    /// result holds all of its output. Every later `next` returns the same.
    Done(ProgramResult),
}

/// A program started by [`ProgramRun::start`].
pub struct ProgramRun {
    done: Option<ProgramResult>,
}

/// Stops the program it came from (see [`ProgramRun::stopper`]); cheap to clone, e.g.
/// into a Stop button's callback while [`ProgramRun::next`] is awaited elsewhere.
#[derive(Clone, Debug)]
pub struct Stopper {}

impl Stopper {
    /// Stops the program now (see [`ProgramRun::stop`]); does nothing once it is done.
    pub fn stop(&self) {}
}

impl ProgramRun {
    /// Starts `source` in a process worker (a warm one if ready, else a new one).
    ///
    /// # Errors
    /// When this page cannot run programs (not cross-origin isolated: no shared memory),
    /// or another program is still running.
    pub fn start(source: String, options: ProgramOptions) -> Result<ProgramRun, String> {
        let _ = (source, options);
        Err("not built yet".into())
    }

    /// The next event: output as it is written, then [`ProgramEvent::Done`].
    pub async fn next(&mut self) -> ProgramEvent {
        ProgramEvent::Done(self.done.clone().unwrap_or_default())
    }

    /// Stops the program at once, whatever it is doing (`while True: pass` included): the VM
    /// is asked to end (it names the line it was at), then every worker of the program is
    /// terminated. [`ProgramRun::next`] then gives `Done` with error kind `Stopped`.
    pub fn stop(&self) {}

    /// A handle that stops this program, usable while `next` is awaited.
    #[must_use]
    pub fn stopper(&self) -> Stopper {
        Stopper {}
    }
}

/// Runs `source` to its end, handing each batch of output to `on_output` as it comes:
/// `threadlab.python`'s body.
///
/// # Errors
/// As [`ProgramRun::start`].
pub async fn run(
    source: String,
    options: ProgramOptions,
    mut on_output: impl FnMut(&[OutputChunk]),
) -> Result<ProgramResult, String> {
    let mut run = ProgramRun::start(source, options)?;
    loop {
        match run.next().await {
            ProgramEvent::Output(chunks) => on_output(&chunks),
            ProgramEvent::Done(result) => return Ok(result),
        }
    }
}

/// Starts a process worker and its thread pool ahead of the first program, so that it
/// finds them ready. Call once the page is up; harmless to call again.
pub fn warm_up() {}
