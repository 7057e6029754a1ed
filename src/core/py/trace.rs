//! A run's record: per step, only what the step changed (objects created or changed,
//! counts changed, objects freed, frames when they changed). A step's full view —
//! reachability, reprs — is rebuilt on demand by replaying the deltas, so recording
//! costs what a step changes, not the size of the heap.

use super::render::{render, Node};
use super::PyError;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

/// One object as the inspector draws it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HeapItem {
    pub id: usize,
    #[serde(rename = "type")]
    pub type_name: String,
    pub repr: String,
    pub refcount: u64,
    pub immortal: bool,
    /// Reachable from a frame's names; `false` with a count above zero means leaked.
    pub reachable: bool,
    /// The objects this one refers to (container slots), for the arrows.
    pub refs: Vec<usize>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VarView {
    pub name: String,
    pub id: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrameView {
    pub name: String,
    pub vars: Vec<VarView>,
}

/// The state after one statement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StepView {
    pub line: u32,
    pub frames: Vec<FrameView>,
    pub heap: Vec<HeapItem>,
    /// Objects freed by this step (their count reached 0, or the cycle collector took them).
    pub freed: Vec<usize>,
    /// How many output lines existed after this step.
    pub output_len: usize,
}

/// A whole run with every recorded step materialized: `window.threadlab.refcount(source)`
/// returns this as JSON.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub output: Vec<String>,
    pub steps: Vec<StepView>,
    pub error: Option<PyError>,
    /// Steps beyond a budget (snapshots, recorded changes, materialized objects) ran
    /// but are not here.
    pub truncated: bool,
    /// How long the run and its recording took where it ran (the Python worker), in ms;
    /// `None` where nobody timed it.
    pub run_ms: Option<f64>,
    /// Whose counts these are: `"3.11"` (also 3.12's and 3.13's) or `"3.14"`.
    #[serde(default)]
    pub version: super::Version,
}

/// Type names by index (`ObjRec::ty`).
pub(super) const TYPES: [&str; 12] = [
    "int",
    "float",
    "str",
    "bool",
    "NoneType",
    "list",
    "tuple",
    "dict",
    "function",
    "builtin_function_or_method",
    "module",
    "range",
];
pub(super) const T_STR: u8 = 2;
pub(super) const T_LIST: u8 = 5;
pub(super) const T_TUPLE: u8 = 6;
pub(super) const T_DICT: u8 = 7;
pub(super) const T_BUILTIN: u8 = 9;
pub(super) const T_MODULE: u8 = 10;

/// How much of a string a trace keeps: enough for any repr the views draw.
pub const STR_PREFIX: usize = 200;

/// An object created, or whose contents changed, in a step.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ObjRec {
    pub id: usize,
    pub ty: u8,
    /// The type's name where `ty` is not one of `TYPES` (an instance's class, `set`…).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub tname: String,
    pub rc: u64,
    pub immortal: bool,
    /// One of the compiled code's constants.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub constant: bool,
    /// A scalar's repr; for a string, its first `STR_PREFIX` characters (unquoted).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
    /// A string's length in bytes (UTF-8).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub len: usize,
    /// A container's slots (a dict's keys and values alternating).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub children: Vec<usize>,
}

#[allow(clippy::trivially_copy_pass_by_ref)]
fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// What one step changed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delta {
    pub line: u32,
    pub output_len: usize,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<ObjRec>,
    /// Objects whose only change is their count: `(id, count)`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub counts: Vec<(usize, u64)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub freed: Vec<usize>,
    /// The frames, when they changed in this step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frames: Option<Vec<FrameView>>,
}

/// A run as recorded: compact, and what crosses from a worker to the page.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Trace {
    pub output: Vec<String>,
    pub error: Option<PyError>,
    /// Steps beyond a recording budget ran but were not recorded.
    pub truncated: bool,
    /// Set by whoever ran it with a clock at hand (the Python worker): see [`Report::run_ms`].
    #[serde(default)]
    pub run_ms: Option<f64>,
    /// The CPython version whose counts these are.
    #[serde(default)]
    pub version: super::Version,
    pub(crate) steps: Vec<Delta>,
}

/// Heap items and their refs `Trace::report` materializes before it stops (and says
/// `truncated`).
pub const REPORT_ITEMS: usize = 100_000;

/// Characters of a repr in a view (the drawing shows 59 and an ellipsis).
const VIEW_REPR: usize = 60;

impl Trace {
    /// Recorded steps.
    #[must_use]
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Ids held in the recorded deltas: the size of the record.
    #[must_use]
    pub fn recorded_ids(&self) -> usize {
        self.steps
            .iter()
            .map(|d| {
                1 + d.objects.iter().map(|o| 1 + o.children.len()).sum::<usize>()
                    + d.counts.len()
                    + d.freed.len()
                    + d.frames.as_ref().map_or(0, |f| f.iter().map(|f| 1 + f.vars.len()).sum())
            })
            .sum()
    }

    /// Step `i` as the inspector draws it, rebuilt from the deltas up to it.
    #[must_use]
    pub fn view(&self, i: usize) -> Option<StepView> {
        let delta = self.steps.get(i)?;
        let mut state = State::default();
        for d in &self.steps[..=i] {
            state.apply(d);
        }
        Some(state.view(delta))
    }

    /// Every recorded step materialized, in the shape the page's API returns, until
    /// `REPORT_ITEMS` heap items have been built.
    #[must_use]
    pub fn report(&self) -> Report {
        let mut state = State::default();
        let (mut steps, mut items, mut truncated) = (Vec::new(), 0usize, self.truncated);
        for d in &self.steps {
            state.apply(d);
            let view = state.view(d);
            items += view.heap.iter().map(|h| 1 + h.refs.len()).sum::<usize>();
            if items > REPORT_ITEMS {
                truncated = true;
                break;
            }
            steps.push(view);
        }
        Report {
            output: self.output.clone(),
            steps,
            error: self.error.clone(),
            truncated,
            run_ms: self.run_ms,
            version: self.version,
        }
    }
}

/// The heap and frames after some steps, rebuilt from deltas.
#[derive(Default)]
struct State {
    objects: BTreeMap<usize, ObjRec>,
    frames: Vec<FrameView>,
}

impl State {
    fn apply(&mut self, d: &Delta) {
        for o in &d.objects {
            self.objects.insert(o.id, o.clone());
        }
        for (id, rc) in &d.counts {
            if let Some(o) = self.objects.get_mut(id) {
                o.rc = *rc;
            }
        }
        for id in &d.freed {
            self.objects.remove(id);
        }
        if let Some(frames) = &d.frames {
            self.frames.clone_from(frames);
        }
    }

    fn node(&self, id: usize) -> Node<'_> {
        match self.objects.get(&id) {
            Some(o) => match o.ty {
                T_STR => Node::Str(&o.text),
                T_LIST => Node::List(&o.children),
                T_TUPLE => Node::Tuple(&o.children),
                T_DICT => Node::DictFlat(&o.children),
                _ => Node::Text(o.text.clone()),
            },
            None => Node::Text("?".into()),
        }
    }

    fn view(&self, d: &Delta) -> StepView {
        let mut reachable = HashSet::new();
        let mut work: Vec<usize> = self.frames.iter().flat_map(|f| f.vars.iter().map(|v| v.id)).collect();
        while let Some(id) = work.pop() {
            if reachable.insert(id) {
                if let Some(o) = self.objects.get(&id) {
                    work.extend(&o.children);
                }
            }
        }
        // Items of a constant tuple are held by the tuple.
        let held_by_constants: HashSet<usize> = self
            .objects
            .values()
            .filter(|o| o.constant && o.ty == T_TUPLE)
            .flat_map(|o| o.children.iter().copied())
            .collect();
        let mut heap = Vec::new();
        for (id, o) in &self.objects {
            if o.ty == T_BUILTIN || o.ty == T_MODULE {
                continue;
            }
            let reached = reachable.contains(id);
            // Unreached constants are just the code's own; unreached immortals are everywhere.
            if !reached && (o.immortal || o.constant || held_by_constants.contains(id)) {
                continue;
            }
            heap.push(HeapItem {
                id: *id,
                type_name: if o.tname.is_empty() {
                    TYPES.get(usize::from(o.ty)).copied().unwrap_or("object").to_owned()
                } else {
                    o.tname.clone()
                },
                repr: self.repr_short(*id),
                refcount: o.rc,
                immortal: o.immortal,
                reachable: reached,
                refs: o.children.clone(),
            });
        }
        StepView { line: d.line, frames: self.frames.clone(), heap, freed: d.freed.clone(), output_len: d.output_len }
    }

    /// The repr, 59 characters and an ellipsis when longer; built no further than that.
    fn repr_short(&self, id: usize) -> String {
        let r = render(|i| self.node(i), id, VIEW_REPR + 1, usize::MAX);
        if r.chars > VIEW_REPR || r.cut {
            format!("{}…", r.text.chars().take(VIEW_REPR - 1).collect::<String>())
        } else {
            r.text
        }
    }
}

/// One heap size for `inspector.ms_per_1k_steps`.
#[derive(Serialize)]
pub struct BenchScript {
    pub name: &'static str,
    /// Builds the heap (one step).
    pub setup: String,
    /// The same, then `steps` more recorded steps that each change one count.
    pub full: String,
    pub steps: usize,
}

/// Two heaps for `inspector.ms_per_1k_steps`: ~100 and ~10,000 objects. The figure is
/// `(time(run(full)) - time(run(setup))) / steps * 1000`; recording costs what a step
/// changes, so both should be close.
#[must_use]
pub fn bench_scripts() -> [BenchScript; 2] {
    let script = |name, n: usize| {
        let setup = format!("x = list(range(1000, {}))\n", 1000 + n);
        // 499 iterations of two steps each: the recording budget is 1,000 steps.
        let full = format!("{setup}for i in range(499):\n    y = x[i % {n}]\n");
        BenchScript { name, setup, full, steps: 998 }
    };
    [script("100 objects", 100), script("10,000 objects", 10_000)]
}
