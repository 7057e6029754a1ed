//! The browser edge: thin on purpose. The page ([`app`], [`api`], [`lab`]), the
//! worker entry points ([`worker`]), how workers are started ([`spawn`]), and the
//! inspector's Python worker ([`python`]). Built with the `vm-module` feature, it is instead
//! the Python VM's own module ([`vm`]: a program's workers), with what that shares.

pub mod arena;
pub mod clock;
pub mod js;

#[cfg(not(feature = "vm-module"))]
pub mod api;
#[cfg(not(feature = "vm-module"))]
pub mod app;
#[cfg(not(feature = "vm-module"))]
pub mod engines;
#[cfg(not(feature = "vm-module"))]
pub mod heartbeat;
// The inspector's worker half: in the VM's module, and in the page's own build only where
// that module cannot run (no shared memory, `pkg-st`).
#[cfg(any(feature = "vm-module", not(feature = "threads")))]
pub mod inspector;
#[cfg(not(feature = "vm-module"))]
pub mod lab;
#[cfg(not(feature = "vm-module"))]
pub mod program;
#[cfg(not(feature = "vm-module"))]
pub mod python;
#[cfg(not(feature = "vm-module"))]
pub mod runner;
#[cfg(not(feature = "vm-module"))]
pub mod spawn;
#[cfg(not(feature = "vm-module"))]
pub mod worker;

#[cfg(feature = "vm-module")]
pub mod vm;
