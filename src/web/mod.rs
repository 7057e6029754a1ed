//! The browser edge: thin on purpose. The page ([`app`], [`api`], [`lab`]), the
//! worker entry points ([`worker`]), how workers are started ([`spawn`]), and the
//! inspector's Python worker ([`python`]).

pub mod api;
pub mod app;
pub mod arena;
pub mod clock;
pub mod engines;
pub mod heartbeat;
pub mod js;
pub mod lab;
pub mod program;
pub mod python;
pub mod runner;
pub mod spawn;
pub mod worker;
