//! Running one task, the same way in every engine.

use crate::core::config::Workload;
use crate::core::kernel;
use crate::core::protocol::{TaskOutcome, TaskSpec};

/// Runs `spec`. `wait_ms` performs the I/O wait: a real blocking sleep in workers,
/// a spin on the page's main thread (where browsers forbid blocking waits).
pub fn execute(spec: &TaskSpec, wait_ms: impl FnOnce(u32)) -> TaskOutcome {
    match spec.workload {
        Workload::Io => {
            wait_ms(spec.duration_ms);
            TaskOutcome {
                result: None,
                checked: None,
            }
        }
        Workload::Cpu => {
            let value = kernel::cpu_task(spec.id, spec.units);
            TaskOutcome {
                result: Some(format!("{value:016x}")),
                checked: Some(value == kernel::expected(spec.id, spec.units)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_tasks_wait_for_their_duration() {
        let mut waited = 0;
        let spec = TaskSpec {
            id: 0,
            workload: Workload::Io,
            duration_ms: 30,
            units: 0,
        };
        let out = execute(&spec, |ms| waited = ms);
        assert_eq!(waited, 30);
        assert_eq!(out.checked, None);
    }

    #[test]
    fn cpu_tasks_return_a_checked_answer() {
        let spec = TaskSpec {
            id: 4,
            workload: Workload::Cpu,
            duration_ms: 0,
            units: 1,
        };
        let out = execute(&spec, |_| panic!("CPU tasks do not wait"));
        assert_eq!(out.checked, Some(true));
        assert_eq!(
            out.result.unwrap(),
            format!("{:016x}", kernel::expected(4, 1))
        );
    }
}
