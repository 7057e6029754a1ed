//! A program's code in a link (`?panel=code&code=…`), compact: LZSS-compressed, then
//! base64url (which a URL carries as it is). Python percent-encoded takes some 1.5 bytes a
//! character (every space and newline is 3); packed, a typical program takes under 0.8.
//!
//! The format, byte-oriented (Okumura's LZSS): a flag byte, then up to 8 items, one per bit
//! from the lowest: 1 = a literal byte; 0 = a copy of 3–18 bytes from 1–4096 bytes back, in
//! two bytes `dddddddd ddddllll` (distance − 1, length − 3). Before them, the code's length
//! in bytes (LEB128), so that a link cut short is caught, not opened as a shorter program.
//! The packed text starts with `1`, this format's version, so that another can follow.

/// What a link's `code` may unpack to, at most, in characters.
pub const MAX_CODE_CHARS: usize = 20_000;
/// How long a `code` value may be; checked before unpacking anything.
pub const MAX_PACKED_CHARS: usize = 40_000;

const WINDOW: usize = 4096;
const MIN_MATCH: usize = 3;
const MAX_MATCH: usize = 18;

fn compress(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 2 + 8);
    let mut n = data.len();
    loop {
        #[allow(clippy::cast_possible_truncation)]
        let low = (n & 0x7F) as u8;
        n >>= 7;
        out.push(if n > 0 { low | 0x80 } else { low });
        if n == 0 {
            break;
        }
    }
    // Earlier positions by their first three bytes, newest first (`head`, then `prev`): the
    // search for a match looks at those alone, at most `TRIES` of them, so that packing the
    // link on every keystroke stays well under a millisecond a kilobyte.
    const BUCKETS: usize = 1 << 12;
    const TRIES: usize = 48;
    let hash =
        |i: usize| (usize::from(data[i]) << 7 ^ usize::from(data[i + 1]) << 3 ^ usize::from(data[i + 2])) % BUCKETS;
    let mut head = vec![usize::MAX; BUCKETS];
    let mut prev = vec![usize::MAX; data.len()];
    let mut i = 0;
    while i < data.len() {
        let flag_at = out.len();
        out.push(0u8);
        for bit in 0..8 {
            if i >= data.len() {
                break;
            }
            // The longest earlier match, nearest first on a tie.
            let (mut best_len, mut best_dist) = (0, 0);
            let most = MAX_MATCH.min(data.len() - i);
            if most >= MIN_MATCH {
                let mut start = head[hash(i)];
                let mut tries = 0;
                while start != usize::MAX && i - start <= WINDOW && tries < TRIES {
                    let len = (0..most).take_while(|&k| data[start + k] == data[i + k]).count();
                    if len > best_len {
                        (best_len, best_dist) = (len, i - start);
                        if len == most {
                            break;
                        }
                    }
                    start = prev[start];
                    tries += 1;
                }
            }
            let step = if best_len >= MIN_MATCH { best_len } else { 1 };
            for at in (i..i + step).filter(|at| at + MIN_MATCH <= data.len()) {
                let h = hash(at);
                prev[at] = head[h];
                head[h] = at;
            }
            if best_len >= MIN_MATCH {
                let (d, l) = (best_dist - 1, best_len - MIN_MATCH);
                #[allow(clippy::cast_possible_truncation)]
                out.extend([(d >> 4) as u8, (((d & 0xF) << 4) | l) as u8]);
                i += best_len;
            } else {
                out[flag_at] |= 1 << bit;
                out.push(data[i]);
                i += 1;
            }
        }
    }
    out
}

/// The bytes `data` unpacks to, if it is whole and they are at most `most`.
fn decompress(data: &[u8], most: usize) -> Option<Vec<u8>> {
    let (mut len, mut i) = (0usize, 0);
    loop {
        let b = *data.get(i)?;
        len |= usize::from(b & 0x7F).checked_shl(u32::try_from(7 * i).ok()?)?;
        i += 1;
        if b & 0x80 == 0 {
            break;
        }
        if i > 4 {
            return None;
        }
    }
    if len > most {
        return None;
    }
    let mut out: Vec<u8> = Vec::with_capacity(len);
    while i < data.len() {
        let flags = data[i];
        i += 1;
        for bit in 0..8 {
            if i >= data.len() {
                break;
            }
            if flags & (1 << bit) != 0 {
                out.push(data[i]);
                i += 1;
            } else {
                let (hi, lo) = (usize::from(data[i]), usize::from(*data.get(i + 1)?));
                i += 2;
                let dist = ((hi << 4) | (lo >> 4)) + 1;
                let start = out.len().checked_sub(dist)?;
                for k in 0..(lo & 0xF) + MIN_MATCH {
                    out.push(out[start + k]);
                }
            }
            if out.len() > len {
                return None;
            }
        }
    }
    (out.len() == len).then_some(out)
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

fn base64url(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len() * 4 / 3 + 3);
    for chunk in data.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (k, b)| n | u32::from(*b) << (16 - 8 * k));
        for k in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * k) & 63) as usize]));
        }
    }
    out
}

fn from_base64url(text: &str) -> Option<Vec<u8>> {
    let digits: Vec<u32> = text
        .bytes()
        .map(|c| ALPHABET.iter().position(|a| *a == c).and_then(|p| u32::try_from(p).ok()))
        .collect::<Option<_>>()?;
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        if chunk.len() == 1 {
            return None;
        }
        let n = chunk.iter().enumerate().fold(0u32, |n, (k, d)| n | d << (18 - 6 * k));
        for k in 0..chunk.len() - 1 {
            #[allow(clippy::cast_possible_truncation)]
            out.push((n >> (16 - 8 * k)) as u8);
        }
    }
    Some(out)
}

/// `code` as a link carries it.
#[must_use]
pub fn pack(code: &str) -> String {
    format!("1{}", base64url(&compress(code.as_bytes())))
}

/// The code a link carries, or why it cannot be read.
///
/// # Errors
/// When the value is too long, was cut or damaged, or unpacks to more than
/// [`MAX_CODE_CHARS`] characters.
pub fn unpack(packed: &str) -> Result<String, String> {
    let damaged = || "the code in this link is damaged (cut short, or changed by hand).".to_owned();
    if packed.len() > MAX_PACKED_CHARS {
        return Err(format!("the code in this link is longer than {MAX_PACKED_CHARS} characters."));
    }
    let body = packed.strip_prefix('1').ok_or_else(damaged)?;
    let bytes = from_base64url(body).ok_or_else(damaged)?;
    let too_long = || format!("the code in this link is longer than {MAX_CODE_CHARS} characters.");
    // A UTF-8 character takes at most 4 bytes.
    let raw = decompress(&bytes, MAX_CODE_CHARS * 4).ok_or_else(|| {
        if decompress(&bytes, MAX_PACKED_CHARS * 9).is_some() {
            too_long()
        } else {
            damaged()
        }
    })?;
    let code = String::from_utf8(raw).map_err(|_| damaged())?;
    if code.chars().count() > MAX_CODE_CHARS {
        return Err(too_long());
    }
    Ok(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::programs::EXAMPLES;

    #[test]
    fn every_example_round_trips_and_packs_smaller_than_percent_encoding() {
        let (mut packed_total, mut percent_total) = (0, 0);
        for e in EXAMPLES {
            let packed = pack(e.source);
            assert_eq!(unpack(&packed).as_deref(), Ok(e.source), "{}", e.key);
            assert!(packed.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{packed}");
            let percent = crate::core::permalink::encode(e.source).len();
            assert!(packed.len() * 5 < percent * 4, "{}: packed {} vs percent-encoded {percent}", e.key, packed.len());
            packed_total += packed.len();
            percent_total += percent;
        }
        // All of them in one program: the longer the code, the more repeats.
        let all: String = EXAMPLES.iter().map(|e| e.source).collect();
        assert!(pack(&all).len() * 2 < crate::core::permalink::encode(&all).len(), "{}", pack(&all).len());
        assert!(packed_total * 3 < percent_total * 2, "{packed_total} vs {percent_total}");
    }

    #[test]
    #[allow(clippy::disallowed_types)] // Native only: clippy.toml's wasm rules do not apply.
    fn packing_the_longest_program_a_link_holds_is_quick() {
        let all: String = EXAMPLES.iter().map(|e| e.source).collect();
        let code: String = all.chars().cycle().take(MAX_CODE_CHARS).collect();
        let clock = std::time::Instant::now();
        let packed = pack(&code);
        let took = clock.elapsed();
        assert_eq!(unpack(&packed).as_deref(), Ok(code.as_str()));
        // The page packs on every keystroke (the address bar follows the editor).
        assert!(took.as_millis() < 40, "{took:?} to pack 20,000 characters");
    }

    #[test]
    fn odd_texts_round_trip() {
        let long = "é\u{1F600}x".repeat(3000) + &"ab".repeat(5000);
        let mut pseudo = String::new();
        let mut x = 12345u32;
        for _ in 0..5000 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            pseudo.push(char::from(b' ' + u8::try_from(x >> 16 & 0x3F).unwrap()));
        }
        for text in
            ["", "a", "ab", "abc", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "\n\n\n\t\0", &long, &pseudo]
        {
            assert_eq!(unpack(&pack(text)).as_deref(), Ok(text), "{:?}", &text[..text.len().min(20)]);
        }
    }

    #[test]
    fn damaged_and_oversized_codes_say_why_and_never_panic() {
        let good = pack(EXAMPLES[0].source);
        for bad in ["", "0abc", "1!!", "1A", &good[..good.len() / 2], &format!("{good}x"), "1____", "1AAAA"] {
            let why = unpack(bad).unwrap_err();
            assert!(why.contains("damaged"), "{bad:?}: {why}");
        }
        // Flipping any byte must not panic (it may happen to decode).
        for i in 1..good.len() {
            let mut bytes = good.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let _ = unpack(&String::from_utf8(bytes).unwrap());
        }
        let huge = pack(&"x".repeat(MAX_CODE_CHARS + 1));
        assert!(huge.len() < 5000, "runs pack well: {}", huge.len());
        assert_eq!(unpack(&huge), Err(format!("the code in this link is longer than {MAX_CODE_CHARS} characters.")));
        assert!(unpack(&"A".repeat(MAX_PACKED_CHARS + 1)).unwrap_err().contains("longer than 40000"));
        assert_eq!(unpack(&pack(&"y".repeat(MAX_CODE_CHARS))).map(|c| c.len()), Ok(MAX_CODE_CHARS));
    }
}
