//! Shared versus separate memory, measured: threads append to one list their process
//! sees at once; processes append to their own copies, and data handed to a process is
//! copied there and back (as `multiprocessing` pickles it).

use crate::core::config::{whole_number, Engine, FieldError, RawValue};
use serde::{Deserialize, Serialize};

pub const MIN_BYTES: u32 = 1024;
pub const MAX_BYTES: u32 = 64 * 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryConfig {
    pub engine: Engine,
    pub bytes: u32,
}

/// What the experiment found.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemoryResult {
    pub engine: Engine,
    pub bytes: u32,
    /// How many workers appended one result each.
    pub workers: u32,
    /// Results the parent (the process that started the workers) finds in its own list.
    pub parent_sees_items: u32,
    /// Results that reached the parent only because they were sent back as messages.
    pub returned_items: u32,
    /// Handing `bytes` over and getting them back: a reference for threads, two copies
    /// (structured clone, like pickling) for processes.
    pub copy_ms: f64,
    /// Copy throughput (bytes there and back per second), `None` when nothing was copied.
    pub mb_per_s: Option<f64>,
}

/// Checks an experiment request.
///
/// # Errors
/// One message per bad field.
pub fn validate(engine: &RawValue, bytes: &RawValue) -> Result<MemoryConfig, Vec<FieldError>> {
    let mut errors = Vec::new();
    let engine = match engine {
        RawValue::Text(s) if s.trim() == "threads" => Some(Engine::Threads),
        RawValue::Text(s) if s.trim() == "processes" => Some(Engine::Processes),
        _ => {
            errors.push(FieldError {
                field: "engine",
                message: format!("engine must be \"threads\" or \"processes\"; got {engine}."),
            });
            None
        }
    };
    let bytes = whole_number("bytes", "bytes", bytes, MIN_BYTES, MAX_BYTES, " (1 KB to 64 MB)")
        .map_err(|e| errors.push(e))
        .ok();
    match (engine, bytes) {
        (Some(engine), Some(bytes)) if errors.is_empty() => Ok(MemoryConfig { engine, bytes }),
        _ => Err(errors),
    }
}

/// Throughput of a round trip that copied `bytes` there and back in `ms`.
#[must_use]
pub fn mb_per_s(bytes: u32, ms: f64) -> Option<f64> {
    (ms > 0.0).then(|| 2.0 * f64::from(bytes) / 1e6 / (ms / 1e3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_checked() {
        let ok = validate(&RawValue::Text("processes".into()), &RawValue::Number(1_048_576.0)).unwrap();
        assert_eq!(ok, MemoryConfig { engine: Engine::Processes, bytes: 1_048_576 });
        let errors = validate(&RawValue::Text("main".into()), &RawValue::Number(1e9)).unwrap_err();
        assert_eq!(errors.iter().map(|e| e.field).collect::<Vec<_>>(), ["engine", "bytes"]);
        assert!(errors[1].message.contains("1 KB to 64 MB"));
    }

    #[test]
    fn throughput_counts_both_ways() {
        assert_eq!(mb_per_s(1_000_000, 2.0), Some(1000.0));
        assert_eq!(mb_per_s(1024, 0.0), None);
    }
}
