//! The one place the page (the Code view, `threadlab.python`) meets the runtime that runs a
//! student's program ([`crate::web::program`], issue 14). Every run goes through [`start`],
//! whoever asked for it, so that the Code view shows each one as it runs: a script's run
//! looks on the page like one from the Run button.

use crate::core::program::{OutputChunk, ProgramOptions, ProgramResult};
// The Code view's first look is the one page-side warm-up that fetches the VM module.
pub use crate::web::program::{prepare as warm_up, Stopper};
use crate::web::program::{ProgramEvent, ProgramRun};
use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use yew::Callback;

/// What the Code view is told of a run, in order.
#[derive(Clone)]
pub enum Shown {
    Started { source: String, options: ProgramOptions, stopper: Stopper },
    Output(Vec<OutputChunk>),
    Done(Rc<ProgramResult>),
}

thread_local! {
    static VIEW: RefCell<Option<Callback<Shown>>> = const { RefCell::new(None) };
}

/// Who is told of every run from now on (the Code view, while it is mounted).
pub fn watch(view: Option<Callback<Shown>>) {
    VIEW.with(|v| *v.borrow_mut() = view);
}

fn tell(shown: Shown) {
    if let Some(view) = VIEW.with(|v| v.borrow().clone()) {
        view.emit(shown);
    }
}

/// Starts `source`; the future drives it to its end and resolves to its result.
///
/// # Errors
/// Why it could not start: another program is still running, or the browser refuses a worker.
pub fn start(source: String, options: ProgramOptions) -> Result<impl Future<Output = Rc<ProgramResult>>, String> {
    start_with(source, options, tell)
}

/// Starts `source` for a view of its own (a cell of the lesson), which alone is told of it: the
/// Code view keeps the student's own program.
///
/// # Errors
/// As [`start`].
pub fn start_for(
    source: String,
    options: ProgramOptions,
    view: Callback<Shown>,
) -> Result<impl Future<Output = Rc<ProgramResult>>, String> {
    start_with(source, options, move |shown| view.emit(shown))
}

fn start_with(
    source: String,
    options: ProgramOptions,
    tell: impl Fn(Shown) + 'static,
) -> Result<impl Future<Output = Rc<ProgramResult>>, String> {
    let mut program = ProgramRun::start(source.clone(), options.clone())?;
    tell(Shown::Started { source, options, stopper: program.stopper() });
    Ok(async move {
        loop {
            match program.next().await {
                ProgramEvent::Output(chunks) => tell(Shown::Output(chunks)),
                ProgramEvent::Done(done) => {
                    let done = Rc::new(done);
                    tell(Shown::Done(done.clone()));
                    return done;
                }
            }
        }
    })
}
