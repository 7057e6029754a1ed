//! Warming the VM's machine code before a student's first program.
//!
//! V8 runs a wasm function in its baseline tier (Liftoff) until the function has run
//! enough, then compiles it with its optimising tier (TurboFan) in the background; a call
//! that begins after that uses the optimised code. The VM's loop is a few large functions,
//! so a fresh page's first program ran its first few hundred milliseconds of Python 3-5x
//! slower (measured in Chromium: 51, 117, 52, 56, then 11 ms for the same call) — and a
//! `Pool`'s workers, started later, found the optimised code ready: "processes are 3.7x
//! faster on two cores" was partly this. The page shares one compiled module among all its
//! workers, so warming it once, in the first spare process while the student reads, makes
//! every later process start optimised. This is the program that does it: the paths most
//! programs take (the fast loop's arithmetic and calls, methods, containers, attributes,
//! generators, f-strings), with no output.

use super::program::prepare;
use super::vm::{run, Exit};
use crate::core::program::Host;
use std::sync::Arc;

/// Runs once per slice; a slice is a few milliseconds once optimised.
pub const PROGRAM: &str = r#"
def arith(n):
    t = 0
    for i in range(n):
        t += i * i % 7
        if t > 1000000:
            t -= 1000000
    return t

def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

class Box:
    def __init__(self, v):
        self.v = v

    def bump(self, by=1):
        self.v += by
        return self.v

def containers(n):
    xs = []
    d = {}
    for i in range(n):
        xs.append(i)
        d[i % 13] = d.get(i % 13, 0) + 1
    b = Box(0)
    for x in xs:
        b.bump(x % 3)
    s = sum(x for x in xs if x % 2)
    words = [f"{k}:{v}" for k, v in d.items()]
    return len(xs) + s + b.v + len(",".join(words)) + len(sorted(xs, reverse=True))

arith(3000)
fib(12)
containers(500)
"#;

/// Runs [`PROGRAM`] once on a fresh interpreter (nothing printed, nothing kept). Returns
/// whether it ran to its end.
#[must_use]
pub fn slice(host: Arc<dyn Host>) -> bool {
    let Ok((mut interp, mut ts)) = prepare(PROGRAM, host, 10_000.0) else { return false };
    loop {
        match run(&mut interp, &mut ts) {
            Exit::Breaker => {}
            Exit::Done(_) => return true,
            Exit::Exception(_) | Exit::Fatal(_) | Exit::Block(_) => return false,
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    #[test]
    fn the_warm_up_program_runs_to_its_end_and_prints_nothing() {
        let host = std::sync::Arc::new(super::super::native::NativeHost::default());
        assert!(super::slice(host));
        let r = super::super::tests::run(super::PROGRAM);
        assert_eq!((r.exit_code, r.stdout.as_str()), (0, ""), "{:?}", r.error);
    }
}
