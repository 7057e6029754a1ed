//! The experiment in the URL: `?engine=threads&tasks=4&…` — read, checked, written.
//!
//! Every parameter is checked on its own; a bad or unknown one is ignored (its field keeps
//! its default) and reported, so a corrupted link still opens a working page.

use crate::core::config::{quote, whole_number, Engine, RawValue, Workload, MAX_DURATION_MS, MAX_TASKS, MAX_WORKERS};
use crate::core::gil::{MAX_SWITCH_INTERVAL_MS, MIN_SWITCH_INTERVAL_MS};

/// The parameters a link may carry, in the order links are written.
pub const KEYS: [&str; 18] = [
    "embed",
    "panel",
    "view",
    "lesson",
    "engine",
    "workload",
    "tasks",
    "duration_ms",
    "cpu_ms",
    "workers",
    "gil",
    "switch_interval_ms",
    "bad",
    "bad_id",
    "timeout_ms",
    "script",
    "code",
    "autorun",
];

/// The longest inspector script a link may carry.
pub const MAX_SCRIPT: usize = 20_000;

/// `a=1&b=x%20y` → pairs, percent-decoded (`+` is a space).
#[must_use]
pub fn decode_query(query: &str) -> Vec<(String, String)> {
    query
        .trim_start_matches('?')
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => match (bytes.get(i + 1).and_then(|b| hex(*b)), bytes.get(i + 2).and_then(|b| hex(*b))) {
                (Some(h), Some(l)) => {
                    out.push(h * 16 + l);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// Percent-encodes everything but unreserved characters (RFC 3986).
#[must_use]
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Pairs → `a=1&b=x%20y`.
#[must_use]
pub fn encode_query(pairs: &[(&str, String)]) -> String {
    pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

/// Checks one parameter; `Err` says why it was ignored.
///
/// # Errors
/// When the key is unknown or the value is not one the field takes.
pub fn check(key: &str, value: &str) -> Result<(), String> {
    let text = RawValue::Text(value.to_owned());
    let number = |field: &'static str, label: &str, lo: u32, hi: u32, unit: &str| {
        whole_number(field, label, &text, lo, hi, unit).map(drop).map_err(|e| e.message)
    };
    match key {
        // `view` is another name for `panel` (the Code view's links use it).
        "panel" | "view" => matches!(value, "lab" | "refcount" | "code" | "lesson")
            .then_some(())
            .ok_or_else(|| format!("{key} must be lab, refcount, code or lesson; got {}.", quote(value))),
        "cell" => crate::core::lesson::is_cell(value).then_some(()).ok_or_else(|| {
            let cells: Vec<&str> = crate::core::lesson::CELLS.iter().map(|(id, _)| *id).collect();
            format!("cell must be one of {}; got {}.", cells.join(", "), quote(value))
        }),
        "lesson" => (value == crate::core::lesson::LESSON)
            .then_some(())
            .ok_or_else(|| format!("lesson must be {}; got {}.", crate::core::lesson::LESSON, quote(value))),
        "engine" => Engine::from_key(value)
            .map(drop)
            .ok_or_else(|| format!("engine must be main, threads or processes; got {}.", quote(value))),
        "workload" => Workload::from_key(value)
            .map(drop)
            .ok_or_else(|| format!("workload must be io or cpu; got {}.", quote(value))),
        "tasks" => number("tasks", "Tasks", 1, MAX_TASKS, ""),
        "duration_ms" => number("duration_ms", "Duration", 1, MAX_DURATION_MS, " ms"),
        "cpu_ms" => number("cpu_ms", "Task size", 1, MAX_DURATION_MS, " ms"),
        "workers" => number("workers", "Workers", 1, MAX_WORKERS, ""),
        "timeout_ms" => number("timeout_ms", "Timeout", 100, 60_000, " ms"),
        "bad_id" => number("bad_id", "The bad task's number", 0, MAX_TASKS - 1, ""),
        "gil" => matches!(value, "true" | "false")
            .then_some(())
            .ok_or_else(|| format!("gil must be true or false; got {}.", quote(value))),
        "bad" => matches!(value, "" | "panic" | "hang")
            .then_some(())
            .ok_or_else(|| format!("bad must be panic or hang; got {}.", quote(value))),
        "embed" => matches!(value, "0" | "1")
            .then_some(())
            .ok_or_else(|| format!("embed must be 0 or 1; got {}.", quote(value))),
        "autorun" => matches!(value, "0" | "1")
            .then_some(())
            .ok_or_else(|| format!("autorun must be 0 or 1; got {}.", quote(value))),
        "switch_interval_ms" => value
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && (MIN_SWITCH_INTERVAL_MS..=MAX_SWITCH_INTERVAL_MS).contains(v))
            .map(drop)
            .ok_or_else(|| format!("Switch interval must be a number of ms from 0.1 to 100; got {}.", quote(value))),
        "script" => (value.chars().count() <= MAX_SCRIPT)
            .then_some(())
            .ok_or_else(|| format!("The script is longer than {MAX_SCRIPT} characters.")),
        // Packed (crate::core::compact): its notice says what is wrong, not the value.
        "code" => crate::core::compact::unpack(value).map(drop).map_err(|why| {
            let mut why = why;
            why[..1].make_ascii_uppercase();
            why
        }),
        _ => Err(format!("Unknown parameter {}.", quote(key))),
    }
}

/// A link as read: the parameters to use, and what the page should say about the rest.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Link {
    /// Each known parameter at most once, checked, in the order the link gives them.
    pub pairs: Vec<(String, String)>,
    /// "Ignored tasks: …": a bad value, or an unknown parameter.
    pub ignored: Vec<String>,
    /// "engine given twice; using the first, …".
    pub repeated: Vec<String>,
}

impl Link {
    /// The value used for `key`, if the link gave a good one.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The view the link opens: `panel`, or else `view`, its other name; a link to the lesson
    /// (`?lesson=…`) with neither opens it.
    #[must_use]
    pub fn panel(&self) -> Option<&str> {
        self.get("panel")
            .or_else(|| self.get("view"))
            .or_else(|| self.get("lesson").or_else(|| self.get("cell")).map(|_| "lesson"))
    }

    /// The program the link carries (`code`, packed), unpacked.
    #[must_use]
    pub fn code(&self) -> Option<String> {
        self.get("code").and_then(|packed| crate::core::compact::unpack(packed).ok())
    }

    /// What the page says about this link, if anything was off.
    #[must_use]
    pub fn notice(&self) -> Option<String> {
        let mut parts = Vec::new();
        if !self.ignored.is_empty() {
            parts.push(format!("Some settings of this link were ignored (defaults used): {}", self.ignored.join(" ")));
        }
        parts.extend(self.repeated.iter().cloned());
        (!parts.is_empty()).then(|| parts.join(" "))
    }
}

/// Reads a query: a parameter given more than once counts once, **the first wins** (what
/// `URLSearchParams.get` returns, so a course page's script reading the same link agrees with
/// the page), and the notice says so; a bad or unknown one is ignored, with a notice.
#[must_use]
pub fn read(query: &str) -> Link {
    let mut link = Link::default();
    let mut seen: Vec<(String, String, usize)> = Vec::new();
    for (k, v) in decode_query(query) {
        match seen.iter_mut().find(|(key, _, _)| *key == k) {
            Some((_, _, times)) => *times += 1,
            None => seen.push((k, v, 1)),
        }
    }
    for (k, v, times) in seen {
        let known = KEYS.contains(&k.as_str());
        if times > 1 && known {
            let how_often = if times == 2 { "twice".to_owned() } else { format!("{times} times") };
            link.repeated.push(format!("{k} given {how_often}; using the first, {}.", quote(&v)));
        }
        match check(&k, &v) {
            Ok(()) => link.pairs.push((k, v)),
            Err(why) => link.ignored.push(format!("Ignored {}: {why}", if known { k } else { quote(&k) })),
        }
    }
    link
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_round_trips() {
        let pairs = [("engine", "threads".to_owned()), ("script", "a = [1, 2]\nprint(a) # é&=?".to_owned())];
        let query = encode_query(&pairs);
        assert!(!query.contains(' ') && !query.contains('\n'));
        let back = decode_query(&format!("?{query}"));
        assert_eq!(back, pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect::<Vec<_>>());
    }

    #[test]
    fn bad_and_unknown_parameters_are_ignored_with_a_notice() {
        let link = read("engine=threads&tasks=abc&workers=99&gil=false&colour=red&switch_interval_ms=0.05&x");
        assert_eq!(link.pairs, [("engine".to_owned(), "threads".to_owned()), ("gil".to_owned(), "false".to_owned())]);
        let notices = &link.ignored;
        assert_eq!(notices.len(), 5, "{notices:?}");
        assert!(notices[0].starts_with("Ignored tasks: Tasks must be a whole number from 1 to 64"));
        assert!(notices.iter().any(|n| n.contains("Unknown parameter \"colour\"")));
        assert!(link.repeated.is_empty());
        assert!(link
            .notice()
            .unwrap()
            .starts_with("Some settings of this link were ignored (defaults used): Ignored tasks"));
    }

    #[test]
    fn a_parameter_given_twice_counts_once_the_first_and_the_notice_says_so() {
        let link = read(
            "engine=threads&panel=lab&tasks=4&engine=processes&panel=refcount&tasks=9&engine=main&colour=a&colour=b",
        );
        assert_eq!(link.get("engine"), Some("threads"));
        assert_eq!(link.get("panel"), Some("lab"));
        assert_eq!(link.get("tasks"), Some("4"));
        assert_eq!(link.pairs.len(), 3, "each once: {:?}", link.pairs);
        assert_eq!(
            link.repeated,
            [
                "engine given 3 times; using the first, \"threads\".",
                "panel given twice; using the first, \"lab\".",
                "tasks given twice; using the first, \"4\"."
            ]
        );
        assert_eq!(link.ignored, ["Ignored \"colour\": Unknown parameter \"colour\"."]);
        // The first wins even when it is the bad one: its field keeps the default.
        let link = read("tasks=abc&tasks=3");
        assert_eq!(link.get("tasks"), None);
        assert_eq!(link.repeated, ["tasks given twice; using the first, \"abc\"."]);
        assert_eq!(link.ignored.len(), 1);
        assert!(read("engine=main").notice().is_none());
    }

    #[test]
    fn a_huge_bad_value_is_quoted_short() {
        let huge = "x".repeat(100_000);
        for query in [format!("tasks={huge}"), format!("engine={huge}"), format!("{huge}=1"), format!("script={huge}")]
        {
            let notice = read(&query).notice().unwrap();
            assert!(notice.len() < 250, "{} characters: {}", notice.len(), &notice[..300]);
            assert!(notice.contains("… (100000 characters)") || notice.contains("longer than"), "{notice}");
        }
    }

    #[test]
    fn a_link_carries_a_program_packed_and_a_bad_one_is_named() {
        let code = crate::core::programs::EXAMPLES[2].source;
        let query = encode_query(&[("panel", "code".to_owned()), ("code", crate::core::compact::pack(code))]);
        let link = read(&query);
        assert_eq!((link.panel(), link.code().as_deref()), (Some("code"), Some(code)));
        assert!(link.notice().is_none());
        // `view` is `panel`'s other name; `panel` wins when both are given.
        assert_eq!(read("view=code").panel(), Some("code"));
        assert_eq!(read("view=code&panel=refcount").panel(), Some("refcount"));
        let link = read("view=code&code=1AAAA");
        assert_eq!((link.panel(), link.code()), (Some("code"), None));
        assert_eq!(
            link.notice().unwrap(),
            "Some settings of this link were ignored (defaults used): Ignored code: The code in this link is damaged \
             (cut short, or changed by hand)."
        );
        let cut = &crate::core::compact::pack(code)[..40];
        assert!(read(&format!("code={cut}"))
            .notice()
            .unwrap()
            .contains("Ignored code: The code in this link is damaged"));
        let huge = crate::core::compact::pack(&"x".repeat(30_000));
        assert!(read(&format!("code={huge}")).notice().unwrap().contains("longer than 20000 characters"));
        assert!(read("view=editor")
            .notice()
            .unwrap()
            .contains("view must be lab, refcount, code or lesson; got \"editor\"."));
    }

    #[test]
    fn a_lesson_link_opens_the_lesson() {
        assert_eq!(read("lesson=threads-and-processes").panel(), Some("lesson"));
        assert_eq!(read("panel=lesson").panel(), Some("lesson"));
        // An explicit panel wins; an unknown lesson is ignored with a notice.
        assert_eq!(read("lesson=threads-and-processes&panel=code").panel(), Some("code"));
        let link = read("lesson=memory");
        assert_eq!(link.panel(), None);
        assert!(link.notice().unwrap().contains("lesson must be threads-and-processes; got \"memory\"."));
    }

    #[test]
    fn a_cell_link_opens_that_cell_of_the_lesson() {
        let link = read("cell=io-threads&embed=1");
        assert_eq!((link.panel(), link.get("cell"), link.notice()), (Some("lesson"), Some("io-threads"), None));
        let link = read("cell=cpu-bound&embed=1");
        assert_eq!((link.panel(), link.get("cell")), (None, None));
        assert!(link
            .notice()
            .unwrap()
            .contains("cell must be one of race-gil, race-free, io-threads, io-sequential, cpu, cpu-free, shared-list, crash-thread, crash-process; got \"cpu-bound\"."));
    }

    #[test]
    fn broken_percent_escapes_do_not_panic() {
        for q in ["a=%", "a=%4", "a=%zz", "%%%=%%", "=", "&&&", "a=%E2%82"] {
            let _ = read(q);
        }
        assert_eq!(decode("%41%zz%"), "A%zz%");
    }
}
