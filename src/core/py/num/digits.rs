//! Unicode decimal digits (category Nd), which `int()` and `float()` read as CPython does
//! (`int("\u0661\u0662") == 12`): every Nd character is one of 66 runs of ten, 0 to 9, so
//! the table holds each run's zero. Unicode 14.0, CPython 3.11's `unicodedata`; the test
//! checks it against every code point's `unicodedata.decimal` (`tests/fixtures/num/digits.jsonl`).

/// The code point of each run's digit zero, ascending.
const ZEROS: [u32; 66] = [
    0x00030, 0x00660, 0x006F0, 0x007C0, 0x00966, 0x009E6, 0x00A66, 0x00AE6, 0x00B66, 0x00BE6, 0x00C66, 0x00CE6,
    0x00D66, 0x00DE6, 0x00E50, 0x00ED0, 0x00F20, 0x01040, 0x01090, 0x017E0, 0x01810, 0x01946, 0x019D0, 0x01A80,
    0x01A90, 0x01B50, 0x01BB0, 0x01C40, 0x01C50, 0x0A620, 0x0A8D0, 0x0A900, 0x0A9D0, 0x0A9F0, 0x0AA50, 0x0ABF0,
    0x0FF10, 0x104A0, 0x10D30, 0x11066, 0x110F0, 0x11136, 0x111D0, 0x112F0, 0x11450, 0x114D0, 0x11650, 0x116C0,
    0x11730, 0x118E0, 0x11950, 0x11C50, 0x11D50, 0x11DA0, 0x16A60, 0x16AC0, 0x16B50, 0x1D7CE, 0x1D7D8, 0x1D7E2,
    0x1D7EC, 0x1D7F6, 0x1E140, 0x1E2F0, 0x1E950, 0x1FBF0,
];

/// The decimal value of `c` if it is a Unicode decimal digit (`unicodedata.decimal`).
#[must_use]
pub fn decimal_value(c: char) -> Option<u32> {
    let u = c as u32;
    let i = ZEROS.partition_point(|&z| z <= u);
    let zero = *ZEROS.get(i.checked_sub(1)?)?;
    (u - zero < 10).then_some(u - zero)
}

/// `_PyUnicode_TransformDecimalAndSpaceToASCII`, what `int()` and `float()` parse: each
/// Unicode decimal digit as its ASCII digit, each non-ASCII space as a space, the rest
/// as it is (so it fails the ASCII grammar after).
#[must_use]
pub fn number_text(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii() {
                c
            } else if let Some(d) = decimal_value(c) {
                char::from_digit(d, 10).unwrap_or(c)
            } else if c.is_whitespace() {
                ' '
            } else {
                c
            }
        })
        .collect()
}
