//! The one place the page (the Code view, `threadlab.python`) meets the runtime that runs a
//! student's program ([`crate::web::program`], issue 14).

pub use crate::web::program::{warm_up, ProgramEvent, ProgramRun, Stopper};
