//! Every case of `tests/fixtures/num/*.jsonl`, written by CPython 3.11 through
//! `tests/fixtures/num/regenerate.py`, compared with what this module computes.

// Native-only test code: the fixture's numbers are small enough for these casts.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    clippy::cast_possible_wrap,
    clippy::disallowed_types
)]

use super::bigint::{Int, NumError, DEFAULT_MAX_BITS};
use serde_json::Value;
use std::path::Path;

fn cases(name: &str) -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/num").join(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run tests/fixtures/num/regenerate.py", path.display()));
    text.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect()
}

fn int(v: &Value) -> Int {
    let s = v.as_str().expect("an int as a string");
    if let Some(h) = s.strip_prefix("hex:") {
        let (neg, h) = match h.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, h),
        };
        let m = Int::parse(h, 0).expect("a hex literal");
        return if neg { m.neg() } else { m };
    }
    // Expected values may exceed the 4,300-digit limit: assemble them in chunks.
    let (neg, digits) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let mut acc = Int::ZERO;
    let mut i = 0;
    while i < digits.len() {
        let end = (i + 1000).min(digits.len());
        let scale = Int::Small(10).pow(&Int::Small((end - i) as i64), DEFAULT_MAX_BITS).expect("a power of ten");
        acc = acc.mul(&scale).add(&Int::parse(&digits[i..end], 10).expect("decimal digits"));
        i = end;
    }
    if neg {
        acc.neg()
    } else {
        acc
    }
}

fn float(v: &Value) -> f64 {
    f64::from_bits(v.as_str().expect("float bits").parse().expect("u64 bits"))
}

fn show(r: &Result<String, NumError>) -> String {
    match r {
        Ok(s) => s.clone(),
        Err(e) => format!("{}: {}", e.kind, e.message),
    }
}

fn expected(c: &Value) -> String {
    if let Some(e) = c.get("err") {
        return e.as_str().expect("an error").to_owned();
    }
    match &c["r"] {
        Value::String(s) => {
            // Normalise expected ints through the same text as ours (signs, no limit).
            s.clone()
        }
        Value::Array(items) => items.iter().map(|x| x.as_str().unwrap_or("?").to_owned()).collect::<Vec<_>>().join(","),
        Value::Null => "None".to_owned(),
        other => other.to_string(),
    }
}

/// Fails listing the first cases that differ from CPython (`bad`), out of `total`.
fn assert_none_differ(bad: &[String], total: usize) {
    assert!(
        bad.is_empty(),
        "{} of {total} cases differ:\n{}",
        bad.len(),
        bad.iter().take(25).map(|f| f.chars().take(600).collect::<String>()).collect::<Vec<_>>().join("\n")
    );
}

fn fmt_int(r: Result<Int, NumError>) -> Result<String, NumError> {
    r.map(|v| v.to_string())
}

fn fmt_f64(r: Result<f64, NumError>) -> Result<String, NumError> {
    r.map(|x| x.to_bits().to_string())
}

fn bigint_case(c: &Value) -> Result<String, NumError> {
    let op = c["op"].as_str().expect("an op");
    let a = || int(&c["a"]);
    let b = || int(&c["b"]);
    match op {
        "add" => Ok(a().add(&b()).to_string()),
        "sub" => Ok(a().sub(&b()).to_string()),
        "mul" => Ok(a().mul(&b()).to_string()),
        "floordiv" => fmt_int(a().floordiv(&b())),
        "mod" => fmt_int(a().rem(&b())),
        "divmod" => a().divmod(&b()).map(|(q, r)| format!("{q},{r}")),
        "truediv" => fmt_f64(a().truediv(&b())),
        "cmp" => Ok((a().cmp(&b()) as i8).to_string()),
        "and" => Ok(a().bitand(&b()).to_string()),
        "or" => Ok(a().bitor(&b()).to_string()),
        "xor" => Ok(a().bitxor(&b()).to_string()),
        "neg" => Ok(a().neg().to_string()),
        "abs" => Ok(a().abs().to_string()),
        "invert" => Ok(a().invert().to_string()),
        "hash" => Ok(a().py_hash().to_string()),
        "bit_length" => Ok(a().bit_length().to_string()),
        "to_f64" => fmt_f64(a().to_f64()),
        "hex" => Ok(a().to_prefixed(16)),
        "oct" => Ok(a().to_prefixed(8)),
        "bin" => Ok(a().to_prefixed(2)),
        "bit_count" => Ok(a().bit_count().to_string()),
        "shl" => fmt_int(a().shl(&b(), DEFAULT_MAX_BITS)),
        "shr" => fmt_int(a().shr(&b())),
        "pow" => fmt_int(a().pow(&b(), DEFAULT_MAX_BITS)),
        "pow_mod" => fmt_int(a().pow_mod(&b(), &int(&c["c"]))),
        "cmp_f64" => Ok(match a().cmp_f64(float(&c["f"])) {
            Some(o) => (o as i8).to_string(),
            None => "None".to_owned(),
        }),
        "from_f64" => fmt_int(Int::from_f64(float(&c["f"]))),
        "str" => a().to_str(),
        "parse" => fmt_int(Int::parse(c["t"].as_str().expect("text"), c["base"].as_u64().expect("base") as u32)),
        "mul_big" => {
            let n = |k: &str| Int::Small(c[k].as_i64().expect("an exponent"));
            let a = Int::Small(3).pow(&n("n1"), DEFAULT_MAX_BITS)?.sub(&Int::Small(2).pow(&n("m1"), DEFAULT_MAX_BITS)?);
            let b = Int::Small(5).pow(&n("n2"), DEFAULT_MAX_BITS)?.neg().sub(&Int::Small(1));
            let p = a.mul(&b);
            let d = Int::Small(3).pow(&n("n1"), DEFAULT_MAX_BITS)?.add(&Int::Small(1));
            let (q, r) = p.divmod(&d)?;
            // Checked against "r" here; "sq" and "q" are compared below.
            let sq = a.mul(&a).py_hash().to_string();
            let qr = format!("{},{}", q.py_hash(), r.py_hash());
            assert_eq!(Some(sq.as_str()), c["sq"].as_str(), "a*a of {c}");
            assert_eq!(Some(qr.as_str()), c["q"].as_str(), "divmod of {c}");
            Ok(format!("{},{}", p.py_hash(), p.bit_length()))
        }
        other => panic!("unknown op {other}"),
    }
}

#[test]
fn bigint_matches_cpython() {
    let all = cases("bigint.jsonl");
    let mut failures = Vec::new();
    for c in &all {
        let got = show(&bigint_case(c));
        let want = expected(c);
        if got != want {
            failures.push(format!("{c}\n   got {got}"));
        }
    }
    assert_none_differ(&failures, all.len());
}

#[test]
fn absurd_sizes_are_refused_before_computing() {
    let two = Int::Small(2);
    let e = two.pow(&Int::Small(1_000_000_000), DEFAULT_MAX_BITS).unwrap_err();
    assert_eq!(e.kind, "MemoryError");
    assert_eq!(two.pow_bits_estimate(&Int::Small(1_000_000_000)), 2_000_000_000);
    let big_exp = Int::Small(10).pow(&Int::Small(30), DEFAULT_MAX_BITS).unwrap();
    assert_eq!(two.pow(&big_exp, DEFAULT_MAX_BITS).unwrap_err().kind, "MemoryError");
    assert_eq!(Int::Small(1).shl(&big_exp, DEFAULT_MAX_BITS).unwrap_err().kind, "MemoryError");
    // 1 ** huge and (-1) ** huge are cheap and fine.
    assert_eq!(Int::Small(-1).pow(&big_exp, DEFAULT_MAX_BITS).unwrap(), Int::Small(1));
}

#[test]
fn big_powers_and_their_text_are_fast() {
    let start = std::time::Instant::now();
    let p = Int::Small(2).pow(&Int::Small(10_000), DEFAULT_MAX_BITS).unwrap();
    let s = Int::Small(3).pow(&Int::Small(5000), DEFAULT_MAX_BITS).unwrap().to_str().unwrap();
    assert_eq!(p.bit_length(), 10_001);
    assert_eq!(s.len(), 2386);
    let ms = start.elapsed().as_millis();
    assert!(ms < 50, "2**10000 and str(3**5000) took {ms} ms");
}

fn format_case(c: &Value) -> Result<String, NumError> {
    let spec = c["spec"].as_str().expect("a spec");
    match c["kind"].as_str().expect("a kind") {
        "int" => super::format::format_int(&int(&c["v"]), spec),
        "float" => super::format::format_float(float(&c["v"]), spec),
        _ => super::format::format_str(c["v"].as_str().expect("a str"), spec),
    }
}

#[test]
fn format_specs_match_cpython() {
    let all = cases("format.jsonl");
    let mut failures = Vec::new();
    for c in &all {
        let got = show(&format_case(c));
        let want = expected(c);
        if got != want {
            failures.push(format!("{c}\n   got {got}"));
        }
    }
    assert_none_differ(&failures, all.len());
}

#[test]
fn float_reprs_and_digits_match_cpython() {
    use super::format::{float_repr, float_to_string, Flags};
    let all = cases("float_repr.jsonl");
    let mut failures = Vec::new();
    for c in &all {
        let x = float(&c["f"]);
        let mut check = |what: &str, got: String, want: &Value| {
            if let Some(w) = want.as_str() {
                if got != w {
                    failures.push(format!("{what} of {x:e} ({c}): got {got}"));
                }
            }
        };
        check("repr", float_repr(x), &c["repr"]);
        if let Some(p) = c.get("p").and_then(Value::as_u64) {
            let p = p as usize;
            check("e", float_to_string(x, 'e', p, Flags::default()), &c["e"]);
            check("f", float_to_string(x, 'f', p, Flags::default()), &c["f_"]);
            check("g", float_to_string(x, 'g', p, Flags::default()), &c["g"]);
            check("#g", float_to_string(x, 'g', p, Flags { alt: true, ..Flags::default() }), &c["g#"]);
            let spec = format!(".{p}");
            check("format", super::format::format_float(x, &spec).unwrap_or_default(), &c["r"]);
        }
    }
    assert!(
        failures.is_empty(),
        "{} differ:\n{}",
        failures.len(),
        failures.iter().take(30).cloned().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn float_hashes_match_cpython() {
    let all = cases("float_repr.jsonl");
    let mut bad = Vec::new();
    for c in &all {
        let x = float(&c["f"]);
        let got = super::bigint::py_hash_f64(x).map(|h| h.to_string());
        let want = c["hash"].as_str().map(str::to_owned);
        if got != want {
            bad.push(format!("hash({x:e}): got {got:?}, CPython {want:?}"));
        }
        // hash(x) == hash(int(x)) for integral floats, as Python's dicts need.
        if x.is_finite() && x.fract() == 0.0 {
            assert_eq!(super::bigint::py_hash_f64(x), Some(Int::from_f64(x).unwrap().py_hash()), "{x:e}");
        }
    }
    assert!(bad.is_empty(), "{} differ:\n{}", bad.len(), bad.iter().take(20).cloned().collect::<Vec<_>>().join("\n"));
}

fn random_call(r: &mut super::random::Random, call: &Value) -> Result<String, NumError> {
    let args: Vec<&str> = call["args"].as_array().expect("args").iter().map(|a| a.as_str().expect("an arg")).collect();
    let int_arg = |i: usize| int(&Value::String(args[i].to_owned()));
    let usize_arg = |i: usize| args[i].parse::<usize>().expect("a count");
    let list = |v: Vec<usize>| v.iter().map(ToString::to_string).collect::<Vec<_>>().join(",");
    match call["f"].as_str().expect("a name") {
        "random" => Ok(r.random().to_bits().to_string()),
        "getrandbits" => r.getrandbits(args[0].parse().expect("k"), DEFAULT_MAX_BITS).map(|v| v.to_string()),
        "randrange" => {
            let start = int_arg(0);
            let stop = (args.len() > 1).then(|| int_arg(1));
            let step = if args.len() > 2 { int_arg(2) } else { Int::Small(1) };
            r.randrange(&start, stop.as_ref(), &step).map(|v| v.to_string())
        }
        "randint" => r.randint(&int_arg(0), &int_arg(1)).map(|v| v.to_string()),
        "uniform" => Ok(r.uniform(args[0].parse().expect("a"), args[1].parse().expect("b")).to_bits().to_string()),
        "gauss" => Ok(r.gauss(args[0].parse().expect("mu"), args[1].parse().expect("sigma")).to_bits().to_string()),
        "normalvariate" => {
            Ok(r.normalvariate(args[0].parse().expect("mu"), args[1].parse().expect("sigma")).to_bits().to_string())
        }
        "expovariate" => r.expovariate(args[0].parse().expect("lambd")).map(|x| x.to_bits().to_string()),
        "triangular" => {
            let f = |i: usize| args.get(i).map(|a| a.parse::<f64>().expect("a float"));
            Ok(r.triangular(f(0).unwrap_or(0.0), f(1).unwrap_or(1.0), f(2)).to_bits().to_string())
        }
        // The population is list(range(n)): an element is its index.
        "choice" => r.choice_index(usize_arg(0)).map(|i| i.to_string()),
        "shuffle" => {
            let mut x: Vec<usize> = (0..usize_arg(0)).collect();
            r.shuffle(&mut x);
            Ok(list(x))
        }
        "sample" => r.sample_indices(usize_arg(0), args[1].parse().expect("k")).map(list),
        "choices" => {
            let weights: Option<Vec<f64>> = (args[1] != "None")
                .then(|| args[1].split(',').filter(|w| !w.is_empty()).map(|w| w.parse().expect("a weight")).collect());
            r.choices_indices(usize_arg(0), weights.as_deref(), usize_arg(2)).map(list)
        }
        other => panic!("unknown call {other}"),
    }
}

#[test]
fn random_sequences_match_cpython() {
    let all = cases("random.jsonl");
    let mut bad = Vec::new();
    for case in &all {
        let mut r = super::random::Random::from_seed(&Int::ZERO);
        match case["kind"].as_str() {
            Some("float") => r.seed_f64(float(&case["seed"])).expect("a float seed that is not a NaN"),
            Some("str") => r.seed_str(case["seed"].as_str().expect("a str seed")),
            _ => r.seed(&int(&case["seed"])),
        }
        for call in case["calls"].as_array().expect("calls") {
            let got = show(&random_call(&mut r, call));
            let want = expected(call);
            if got != want {
                bad.push(format!(
                    "seed {}: {call}\n   got {got}",
                    case["seed"].as_str().unwrap_or("?").chars().take(30).collect::<String>()
                ));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "{} differ:\n{}",
        bad.len(),
        bad.iter().take(20).map(|f| f.chars().take(500).collect::<String>()).collect::<Vec<_>>().join("\n")
    );
}

/// The VM's side of `%`, played by the fixture's values.
struct FixtureHost;

impl super::percent::PercentHost for FixtureHost {
    type Value = Value;

    fn number(&mut self, v: &Value) -> super::percent::PercentNumber {
        use super::percent::PercentNumber;
        match v["t"].as_str() {
            Some("int" | "bool") => PercentNumber::Int(int(&v["i"])),
            Some("float") => PercentNumber::Float(float(&v["f"])),
            Some("str") => PercentNumber::Str(v["str"].as_str().unwrap_or_default().to_owned()),
            _ => PercentNumber::Other,
        }
    }

    fn type_name(&mut self, v: &Value) -> String {
        v["t"].as_str().unwrap_or("?").to_owned()
    }

    fn text(&mut self, v: &Value, conv: char) -> Result<String, NumError> {
        let field = match conv {
            's' => "str",
            'r' => "repr",
            _ => "ascii",
        };
        // The big int's str raises in CPython: the fixture left it empty.
        if v["t"] == "int" && v[field] == "" {
            return int(&v["i"]).to_str();
        }
        Ok(v[field].as_str().unwrap_or_default().to_owned())
    }

    fn get_item(&mut self, mapping: &Value, key: &str) -> Result<Value, NumError> {
        mapping["items"].get(key).cloned().ok_or_else(|| NumError::new("KeyError", super::bigint::str_repr(key)))
    }
}

#[test]
fn percent_formatting_matches_cpython() {
    use super::percent::{percent_format, PercentArgs};
    let all = cases("percent.jsonl");
    let mut bad = Vec::new();
    for c in &all {
        let args = match c.get("tuple") {
            Some(items) => PercentArgs::Tuple(items.as_array().expect("items").clone()),
            None => PercentArgs::Single { value: c["single"].clone(), mapping: c["mapping"] == true },
        };
        let got = show(&percent_format(&mut FixtureHost, c["template"].as_str().expect("a template"), args));
        let want = expected(c);
        if got != want {
            bad.push(format!(
                "{} % {}\n   want {want}\n   got  {got}",
                c["template"],
                c.get("tuple").unwrap_or(&c["single"])
            ));
        }
    }
    assert_none_differ(&bad, all.len());
}

fn float_case(c: &Value) -> Result<String, NumError> {
    use super::float as fl;
    let bits = |r: Result<f64, NumError>| r.map(|x| x.to_bits().to_string());
    let a = || float(&c["a"]);
    let b = || float(&c["b"]);
    match c["op"].as_str().expect("an op") {
        "floordiv" => bits(fl::float_floordiv(a(), b())),
        "mod" => bits(fl::float_mod(a(), b())),
        "divmod" => fl::float_divmod(a(), b()).map(|(q, r)| format!("{},{}", q.to_bits(), r.to_bits())),
        "pow" => match fl::float_pow(a(), b()) {
            Err(e) if e.kind == "NotImplementedError" => Ok("complex".to_owned()),
            r => bits(r),
        },
        "round" => bits(fl::float_round(a(), c["n"].as_i64().expect("n"))),
        "round_int" => fl::float_round_to_int(a()).map(|v| v.to_string()),
        "int_round" => Ok(fl::int_round(&int(&c["v"]), c["n"].as_i64().expect("n")).to_string()),
        "parse" => bits(fl::parse_float(c["t"].as_str().expect("text"))),
        "ratio" => fl::float_as_integer_ratio(a()).map(|(n, d)| format!("{n},{d}")),
        "is_integer" => Ok(if fl::float_is_integer(a()) { "True" } else { "False" }.to_owned()),
        other => panic!("unknown op {other}"),
    }
}

#[test]
fn float_operations_match_cpython() {
    let all = cases("float.jsonl");
    let mut bad = Vec::new();
    for c in &all {
        let got = show(&float_case(c));
        let mut want = expected(c);
        if want == "complex" {
            want = "complex".to_owned();
        }
        if got != want {
            bad.push(format!("{c}\n   got {got}"));
        }
    }
    assert_none_differ(&bad, all.len());
    // round(v, -10**12): CPython would compute 10**(10**12) (and hang); the answer is 0,
    // as the fixture's round(v, -1000) already is for these values.
    let v = int(&Value::String("12345678901234567890".into()));
    assert_eq!(super::float::int_round(&v, -1_000_000_000_000), super::float::int_round(&v, -1000));
}

/// The VM's side of `str.format`, played by the fixture's values.
struct FormatFixtureHost<'a> {
    args: &'a [Value],
    kwargs: &'a serde_json::Map<String, Value>,
}

fn fixture_str(text: &str) -> Value {
    serde_json::json!({"t": "str", "tp_name": "str", "str": text})
}

impl super::strformat::StrFormatHost for FormatFixtureHost<'_> {
    type Value = Value;

    fn positional(&mut self, i: usize) -> Option<Value> {
        self.args.get(i).cloned()
    }

    fn keyword(&mut self, name: &str) -> Result<Value, NumError> {
        self.kwargs.get(name).cloned().ok_or_else(|| NumError::new("KeyError", super::bigint::str_repr(name)))
    }

    fn getattr(&mut self, v: &Value, name: &str) -> Result<Value, NumError> {
        v.get("attrs").and_then(|a| a.get(name)).cloned().ok_or_else(|| {
            NumError::new(
                "AttributeError",
                format!("'{}' object has no attribute '{name}'", v["tp_name"].as_str().unwrap_or("?")),
            )
        })
    }

    fn getitem_index(&mut self, v: &Value, i: usize) -> Result<Value, NumError> {
        match v["t"].as_str() {
            Some("list") => {
                v["list"].get(i).cloned().ok_or_else(|| NumError::new("IndexError", "list index out of range"))
            }
            Some("dict") => Err(NumError::new("KeyError", i.to_string())),
            Some("str") => v["str"]
                .as_str()
                .and_then(|s| s.chars().nth(i))
                .map(|c| fixture_str(&c.to_string()))
                .ok_or_else(|| NumError::new("IndexError", "string index out of range")),
            _ => Err(NumError::new(
                "TypeError",
                format!("'{}' object is not subscriptable", v["tp_name"].as_str().unwrap_or("?")),
            )),
        }
    }

    fn getitem_str(&mut self, v: &Value, key: &str) -> Result<Value, NumError> {
        match v["t"].as_str() {
            Some("dict") => {
                v["items"].get(key).cloned().ok_or_else(|| NumError::new("KeyError", super::bigint::str_repr(key)))
            }
            _ => Err(NumError::new(
                "TypeError",
                format!("'{}' object is not subscriptable", v["tp_name"].as_str().unwrap_or("?")),
            )),
        }
    }

    fn convert(&mut self, v: &Value, conversion: char) -> Result<Value, NumError> {
        let field = match conversion {
            's' => "str",
            'r' => "repr",
            _ => "ascii",
        };
        Ok(fixture_str(v[field].as_str().unwrap_or_default()))
    }

    fn format(&mut self, v: &Value, spec: &str) -> Result<String, NumError> {
        use super::format::{format_float, format_int, format_int_named, format_str};
        match v["t"].as_str() {
            Some("int") => format_int(&int(&v["i"]), spec),
            Some("bool") if !spec.is_empty() => format_int_named(&int(&v["i"]), spec, "bool"),
            Some("float") => format_float(float(&v["f"]), spec),
            Some("str") => format_str(v["str"].as_str().unwrap_or_default(), spec),
            _ if spec.is_empty() => Ok(v["str"].as_str().unwrap_or_default().to_owned()),
            _ => Err(NumError::new(
                "TypeError",
                format!("unsupported format string passed to {}.__format__", v["tp_name"].as_str().unwrap_or("?")),
            )),
        }
    }
}

#[test]
fn str_format_matches_cpython() {
    let all = cases("strformat.jsonl");
    let fixture = &all[0];
    let args = fixture["args"].as_array().expect("args").clone();
    let kwargs = fixture["kwargs"].as_object().expect("kwargs").clone();
    let mut bad = Vec::new();
    let list = fixture["cases"].as_array().expect("cases");
    for c in list {
        let template = c["template"].as_str().expect("a template");
        let map = c["map"] == true;
        let mut host = FormatFixtureHost { args: if map { &[] } else { &args }, kwargs: &kwargs };
        let got = show(&super::strformat::str_format(&mut host, template, !map));
        let want = expected(c);
        if got != want {
            bad.push(format!("{template:?} (map: {map})\n   want {want}\n   got  {got}"));
        }
    }
    assert_none_differ(&bad, list.len());
}

#[test]
fn int_math_matches_cpython() {
    use super::intmath;
    let all = cases("intmath.jsonl");
    let mut bad = Vec::new();
    for c in &all {
        let a = || int(&c["a"]);
        let b = || int(&c["b"]);
        let got = show(&match c["op"].as_str().expect("an op") {
            "gcd" => Ok(intmath::gcd(&a(), &b()).to_string()),
            "lcm" => Ok(intmath::lcm(&a(), &b()).to_string()),
            "isqrt" => fmt_int(intmath::isqrt(&a())),
            "log" => fmt_f64(intmath::log(&a())),
            "factorial" => fmt_int(intmath::factorial(&a(), DEFAULT_MAX_BITS)),
            "comb" => fmt_int(intmath::comb(&a(), &b(), DEFAULT_MAX_BITS)),
            "perm" => fmt_int(intmath::perm(&a(), c.get("b").map(int).as_ref(), DEFAULT_MAX_BITS)),
            other => panic!("unknown op {other}"),
        });
        let want = expected(c);
        if got != want {
            bad.push(format!("{c}\n   got {got}"));
        }
    }
    assert_none_differ(&bad, all.len());
    // Refused before computing, not after minutes.
    let e = intmath::factorial(&Int::Small(100_000_000), DEFAULT_MAX_BITS).unwrap_err();
    assert_eq!(e.kind, "MemoryError");
}

#[test]
fn unicode_digits_match_cpython() {
    let all = cases("digits.jsonl");
    let want: Vec<(u32, u32)> = all
        .iter()
        .map(|c| (c["c"].as_u64().expect("a code point") as u32, c["d"].as_u64().expect("a digit") as u32))
        .collect();
    assert_eq!(want.len(), 660, "CPython 3.11 has 660 decimal digits");
    // Every code point: exactly CPython's digits have a value, and the same value.
    let got: Vec<(u32, u32)> = (0..=0x10_ffffu32)
        .filter_map(|u| char::from_u32(u).and_then(|c| super::digits::decimal_value(c).map(|d| (u, d))))
        .collect();
    assert_eq!(got, want);
}

#[test]
fn fast_digits_equal_exact_digits() {
    use super::format::{dtoa_exact, dtoa_rust};
    // Ties (exact binary fractions), subnormals, huge values, and a spread of others;
    // a small xorshift makes the spread without a dependency.
    let mut xs =
        vec![0.125, 0.375, 2.5, 0.5, 1.5, 0.0625, 1e23, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..400 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let x = f64::from_bits(state >> 1);
        if x.is_finite() && x != 0.0 {
            xs.push(x);
        }
        xs.push((state % 100_000) as f64 / 64.0);
    }
    for (i, &x) in xs.iter().enumerate() {
        for n in [1, 2, 3, 5, 6, 10, 15, 16, 17, 18, 25, 40] {
            assert_eq!(dtoa_rust(x, 2, n), dtoa_exact(x, 2, n), "mode 2, {n} digits of {x:e}");
        }
        let long: &[i64] = if i < 40 { &[320, 1080] } else { &[] };
        for &n in [0, 1, 2, 3, 6, 10, 20, 50].iter().chain(long) {
            assert_eq!(dtoa_rust(x, 3, n), dtoa_exact(x, 3, n), "mode 3, {n} places of {x:e}");
        }
    }
}
