//! The CPU-bound workload: a deterministic kernel whose result can be checked.
//!
//! A task of `units` work units runs `units × STEPS_PER_UNIT` steps of a 64-bit
//! linear congruential generator (Knuth's MMIX constants), `x ← a·x + c mod 2⁶⁴`.
//! Each step depends on the last, so the work cannot be vectorised or skipped, and
//! LLVM has no closed form for it: the CPU really does every step. The answer, though,
//! *does* have a closed form (an affine map composed with itself by squaring), so
//! [`expected`] checks any result in O(log n) without redoing the work.

/// Multiplier of the generator (Knuth, MMIX).
pub const A: u64 = 6_364_136_223_846_793_005;
/// Increment of the generator (Knuth, MMIX).
pub const C: u64 = 1_442_695_040_888_963_407;
/// Steps in one work unit: about a millisecond on a laptop, in wasm or native.
pub const STEPS_PER_UNIT: u64 = 1 << 20;

/// The starting value of task `task_id`, so that every task computes something different.
#[must_use]
pub fn seed(task_id: u32) -> u64 {
    // SplitMix64's finaliser spreads small ids over the whole 64-bit range.
    let mut z = u64::from(task_id).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Runs `steps` steps of the generator from `x`: the actual CPU work.
#[must_use]
#[inline(never)]
pub fn run_steps(mut x: u64, steps: u64) -> u64 {
    // With the constants in plain sight LLVM unrolls the loop and folds k steps into
    // one (`(x·A + C)·A + C = x·A² + (A·C + C)`), doing 1/k of the work. Hidden behind
    // `black_box` they are runtime values, and every step is a real multiply and add.
    let (a, c) = (std::hint::black_box(A), std::hint::black_box(C));
    for _ in 0..steps {
        x = x.wrapping_mul(a).wrapping_add(c);
    }
    x
}

/// Where the generator is after `steps` steps from `x`, computed in O(log steps).
///
/// `n` steps of `x ↦ a·x + c` is the affine map `x ↦ Aₙ·x + Cₙ`; two maps compose as
/// `(a₁,c₁)∘(a₂,c₂) = (a₁a₂, a₁c₂ + c₁)`, so the map is raised to the n-th power by squaring.
#[must_use]
pub fn jump(x: u64, mut steps: u64) -> u64 {
    let (mut acc_a, mut acc_c) = (1u64, 0u64);
    let (mut cur_a, mut cur_c) = (A, C);
    while steps > 0 {
        if steps & 1 == 1 {
            acc_a = acc_a.wrapping_mul(cur_a);
            acc_c = acc_c.wrapping_mul(cur_a).wrapping_add(cur_c);
        }
        cur_c = cur_c.wrapping_mul(cur_a).wrapping_add(cur_c);
        cur_a = cur_a.wrapping_mul(cur_a);
        steps >>= 1;
    }
    acc_a.wrapping_mul(x).wrapping_add(acc_c)
}

/// The work of one CPU-bound task.
#[must_use]
pub fn cpu_task(task_id: u32, units: u32) -> u64 {
    run_steps(seed(task_id), u64::from(units) * STEPS_PER_UNIT)
}

/// The answer [`cpu_task`] must give, without doing the work.
#[must_use]
pub fn expected(task_id: u32, units: u32) -> u64 {
    jump(seed(task_id), u64::from(units) * STEPS_PER_UNIT)
}

#[cfg(test)]
#[allow(clippy::disallowed_types)] // Native only, like every test here: clippy.toml's wasm rules do not apply.
mod tests {
    use super::*;

    #[test]
    fn jump_matches_stepping_for_small_counts() {
        for steps in [0, 1, 2, 3, 7, 64, 1000, 4097] {
            assert_eq!(jump(42, steps), run_steps(42, steps), "steps = {steps}");
        }
    }

    #[test]
    fn one_unit_task_is_checked_by_the_closed_form() {
        assert_eq!(cpu_task(3, 1), expected(3, 1));
        assert_eq!(cpu_task(0, 2), expected(0, 2));
    }

    #[test]
    fn tasks_with_different_ids_compute_different_values() {
        assert_ne!(cpu_task(1, 1), cpu_task(2, 1));
        assert_ne!(seed(0), seed(1));
    }

    #[test]
    fn every_step_is_really_done() {
        // A folded loop would run 2^24 steps in well under a millisecond.
        let began = std::time::Instant::now();
        std::hint::black_box(run_steps(std::hint::black_box(1), 1 << 24));
        assert!(began.elapsed() > std::time::Duration::from_millis(3), "{:?}", began.elapsed());
    }

    #[test]
    fn a_wrong_step_count_is_caught() {
        let x = seed(5);
        assert_ne!(run_steps(x, STEPS_PER_UNIT - 1), expected(5, 1));
    }
}
