//! The browser edge: thin on purpose. The page ([`app`], [`api`], [`lab`]), the
//! worker entry points ([`worker`]), how workers are started ([`spawn`]), and the
//! inspector's Python worker ([`python`]). Built with the `vm-module` feature, it is instead
//! the Python VM's own module ([`vm`]: a program's workers), with what that shares; with the
//! `lesson-module` feature, the Lesson tab's module ([`lesson`]), which the page lends its runner.

pub mod arena;
pub mod clock;
pub mod js;

#[cfg(not(any(feature = "vm-module", feature = "lesson-module")))]
pub mod api;
#[cfg(not(any(feature = "vm-module", feature = "lesson-module")))]
pub mod app;
#[cfg(not(any(feature = "vm-module", feature = "lesson-module")))]
pub mod engines;
#[cfg(not(any(feature = "vm-module", feature = "lesson-module")))]
pub mod heartbeat;
// The inspector's worker half: in the VM's module, and in the page's own build only where
// that module cannot run (no shared memory, `pkg-st`).
#[cfg(all(not(feature = "lesson-module"), any(feature = "vm-module", not(feature = "threads"))))]
pub mod inspector;
#[cfg(not(any(feature = "vm-module", feature = "lesson-module")))]
pub mod lab;
#[cfg(not(any(feature = "vm-module", feature = "lesson-module")))]
pub mod program;
#[cfg(not(any(feature = "vm-module", feature = "lesson-module")))]
pub mod python;
#[cfg(not(any(feature = "vm-module", feature = "lesson-module")))]
pub mod runner;
#[cfg(not(any(feature = "vm-module", feature = "lesson-module")))]
pub mod spawn;
#[cfg(not(any(feature = "vm-module", feature = "lesson-module")))]
pub mod worker;

#[cfg(feature = "vm-module")]
pub mod vm;

#[cfg(feature = "lesson-module")]
pub mod lesson;
