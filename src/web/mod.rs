//! The browser edge: thin on purpose. The page ([`app`], [`api`], [`lab`]), the
//! worker entry points ([`worker`]), and how workers are started ([`spawn`]).

pub mod api;
pub mod app;
pub mod clock;
pub mod engines;
pub mod heartbeat;
pub mod lab;
pub mod spawn;
pub mod worker;
