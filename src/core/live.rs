//! The run in progress, as its tasks report in.
//!
//! Gathered as the lab's events arrive, outside the page's reducer, and drawn by the page's
//! timeline at its own pace: a task starting or ending must not redraw the page while the
//! workers are being measured, since every redraw takes a core from them.

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

    /// Task `id` of `run` started on `lane` at `at` (ignored if `run` is not the feed's run).
    pub fn started(&self, run: u32, id: u32, lane: u32, at: f64) {
        let mut feed = self.0.borrow_mut();
        if feed.run != run {
            return;
        }
        // Its end may have been heard first: keep it.
        let end = feed.tasks.get(&id).and_then(|t| t.end);
        feed.tasks.insert(id, LiveTask { lane, start: at, end });
        feed.latest = feed.latest.max(at);
    }

    /// Task `id` of `run` ended at `at`; a task whose start was not heard starts there too.
    pub fn ended(&self, run: u32, id: u32, lane: u32, at: f64) {
        let mut feed = self.0.borrow_mut();
        if feed.run != run {
            return;
        }
        feed.tasks.entry(id).or_insert(LiveTask { lane, start: at, end: None }).end = Some(at);
        feed.latest = feed.latest.max(at);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_s_tasks_start_and_end_in_the_order_heard() {
        let feed = LiveFeed::default();
        feed.begin(3, 1000.0);
        feed.started(3, 1, 1, 1002.0);
        feed.started(3, 0, 0, 1001.0);
        feed.ended(3, 0, 0, 1050.0);
        let read = feed.read(3);
        assert_eq!((read.run, read.started_at, read.latest), (3, Some(1000.0), 1050.0));
        // Kept by id, whatever order they started in.
        let tasks: Vec<_> = read.tasks.into_iter().collect();
        assert_eq!(
            tasks,
            [
                (0, LiveTask { lane: 0, start: 1001.0, end: Some(1050.0) }),
                (1, LiveTask { lane: 1, start: 1002.0, end: None }),
            ]
        );
    }

    #[test]
    fn an_end_heard_before_its_start_is_merged_with_it() {
        let feed = LiveFeed::default();
        feed.begin(1, 0.0);
        feed.ended(1, 4, 2, 30.0);
        assert_eq!(feed.read(1).tasks[&4], LiveTask { lane: 2, start: 30.0, end: Some(30.0) });
        feed.started(1, 4, 2, 10.0);
        assert_eq!(feed.read(1).tasks[&4], LiveTask { lane: 2, start: 10.0, end: Some(30.0) });
        // The latest stamp never goes back.
        assert_eq!(feed.read(1).latest, 30.0);
    }

    #[test]
    fn another_run_s_events_are_ignored_and_a_new_run_starts_empty() {
        let feed = LiveFeed::default();
        // Before its clock starts, a run reads as empty.
        assert_eq!(feed.read(2), Feed { run: 2, ..Feed::default() });
        feed.begin(1, 5.0);
        feed.started(1, 0, 0, 6.0);
        feed.started(2, 0, 0, 7.0);
        feed.ended(0, 0, 0, 8.0);
        assert_eq!(feed.read(1).tasks.len(), 1);
        assert_eq!(feed.read(1).latest, 6.0);
        assert_eq!(feed.read(2).tasks.len(), 0, "not the feed's run");
        feed.begin(2, 100.0);
        let read = feed.read(2);
        assert_eq!((read.tasks.len(), read.latest, read.started_at), (0, 100.0, Some(100.0)));
        assert_eq!(feed.read(1).started_at, None, "the last run is forgotten");
    }

    #[test]
    fn two_feeds_are_equal_only_if_they_are_the_same() {
        let (a, b) = (LiveFeed::default(), LiveFeed::default());
        assert!(a == a);
        assert!(a != b);
    }
}
