//! The reference-count inspector's example scripts, each in the subset of Python that
//! [`crate::core::py`] runs.

/// The inspector's examples: (name, script). The first is the page's default.
pub const PRESETS: [(&str, &str); 4] = [
    (
        "The notebook's example",
        "a = [1, 2, 3]  # A list is created, ref count = 1\nb = a          # Now both `a` and `b` point to the same list, ref count = 2\ndel a          # `a` is deleted, ref count = 1\ndel b          # `b` is deleted, ref count = 0 -> object is destroyed\n",
    ),
    (
        "A function call",
        "import sys\ndata = [10, 20]\n\ndef show(x):\n    y = x\n    print(sys.getrefcount(data))\n    return y\n\nkept = show(data)\ndel kept\nprint(sys.getrefcount(data))\n",
    ),
    (
        "One object twice in a list",
        "import sys\nitem = [\"shared\"]\npair = [item, item]\nprint(sys.getrefcount(item))\ndel item\nprint(pair)\npair.pop()\npair.pop()\n",
    ),
    (
        "A reference cycle",
        "import gc\na = []\na.append(a)   # the list refers to itself\ndel a         # count 1, but nothing can reach it: leaked\nprint(gc.collect())  # the cycle collector finds and frees it\n",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// What CPython 3.11 prints for each example (`python3 -c`, checked, not remembered).
    const CPYTHON_OUTPUT: [&str; 4] = ["", "4\n2\n", "4\n[['shared'], ['shared']]\n", "1\n"];

    #[test]
    fn every_example_runs_without_error_and_prints_what_cpython_prints() {
        for ((name, source), expected) in PRESETS.iter().zip(CPYTHON_OUTPUT) {
            let report = crate::core::py::run(source).report();
            assert!(report.error.is_none(), "{name}: {:?}", report.error);
            assert!(!report.truncated, "{name}");
            assert!(!report.steps.is_empty(), "{name}: nothing to step through");
            let printed: String = report.output.iter().map(|line| format!("{line}\n")).collect();
            assert_eq!(printed, expected, "{name}");
        }
    }

    #[test]
    fn the_examples_have_distinct_names_and_scripts() {
        for (i, a) in PRESETS.iter().enumerate() {
            for b in &PRESETS[i + 1..] {
                assert_ne!(a.0, b.0);
                assert_ne!(a.1, b.1);
            }
        }
    }
}
