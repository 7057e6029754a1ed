//! The run in progress, as its tasks report in.
//!
//! Gathered here as the lab's events arrive, outside the page's reducer, and drawn by the
//! timeline at its own pace ([`super::timeline`]): a task starting or ending must not redraw
//! the page while the workers are being measured, since every redraw takes a core from them.

use crate::web::engines::Progress;
use std::cell::RefCell;
use std::collections::BTreeMap;

/// A task of the run in progress: its lane, and its start and end on the shared clock.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LiveTask {
    pub lane: u32,
    pub start: f64,
    pub end: Option<f64>,
}

/// What is known of one run so far.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Feed {
    pub run: u32,
    /// When its clock started; `None` while the page is still drawing it as live.
    pub started_at: Option<f64>,
    pub tasks: BTreeMap<u32, LiveTask>,
    /// The latest stamp reported.
    pub latest: f64,
}

/// The feed of the run in progress, shared by the page's event listener and the timeline.
#[derive(Default)]
pub struct LiveFeed(RefCell<Feed>);

impl LiveFeed {
    /// A new run's clock started: forget the last one.
    pub fn begin(&self, run: u32, started_at: f64) {
        *self.0.borrow_mut() = Feed { run, started_at: Some(started_at), tasks: BTreeMap::new(), latest: started_at };
    }

    pub fn record(&self, run: u32, progress: Progress) {
        let mut feed = self.0.borrow_mut();
        if feed.run != run {
            return;
        }
        match progress {
            Progress::Started { id, lane, at } => {
                feed.tasks.insert(id, LiveTask { lane, start: at, end: None });
                feed.latest = feed.latest.max(at);
            }
            Progress::Ended { id, lane, at } => {
                feed.tasks.entry(id).or_insert(LiveTask { lane, start: at, end: None }).end = Some(at);
                feed.latest = feed.latest.max(at);
            }
        }
    }

    /// Run `run` as known now (empty if its clock has not started yet).
    #[must_use]
    pub fn read(&self, run: u32) -> Feed {
        let feed = self.0.borrow();
        if feed.run == run {
            feed.clone()
        } else {
            Feed { run, ..Feed::default() }
        }
    }
}

/// One feed per page: two are equal only if they are the same one.
impl PartialEq for LiveFeed {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}
