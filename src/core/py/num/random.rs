//! CPython's `random` module, bit for bit: the Mersenne Twister (MT19937) of
//! `Modules/_randommodule.c` and the methods of `Lib/random.py` (3.11) built on it, so a
//! seeded program prints exactly the numbers CPython prints.
//!
//! API: [`Random`] is one generator (the module's functions share one; each
//! `random.Random(seed)` instance is another).
//! - [`Random::from_seed`]`(&Int)` / [`Random::seed`]: `random.seed(int)` (the absolute
//!   value, as CPython). A float seed is seeded with its hash, as CPython:
//!   [`Random::seed_f64`]. `random.seed()` / `seed(None)` and an unseeded module use the
//!   OS's entropy in CPython; here the VM passes a seed from the host clock
//!   (`Host::now_ms`), so unseeded runs differ from run to run but are not
//!   cryptographic. Str and bytes seeds (SHA-512 in CPython) are not supported: the VM
//!   should say so.
//! - [`Random::random`] (`[0, 1)` from 53 bits), [`Random::getrandbits`],
//!   [`Random::randbelow`], [`Random::randrange`], [`Random::randint`],
//!   [`Random::choice_index`], [`Random::shuffle`], [`Random::uniform`],
//!   [`Random::sample_indices`], [`Random::choices_indices`]. Sequence methods return
//!   indices: the VM picks the elements.

// MT19937 is defined on 32-bit words; the narrowing casts are the algorithm's.
#![allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]

use super::bigint::{Int, NumError};

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// One Mersenne Twister generator with CPython's methods.
#[derive(Clone, Debug)]
pub struct Random {
    mt: Box<[u32; N]>,
    mti: usize,
}

impl Random {
    /// `random.Random(seed)` for an int seed.
    #[must_use]
    pub fn from_seed(seed: &Int) -> Random {
        let mut r = Random { mt: Box::new([0; N]), mti: N + 1 };
        r.seed(seed);
        r
    }

    /// `random.seed(n)` for an int: `init_by_array` of the 32-bit words of `abs(n)`,
    /// least significant first (one zero word for 0).
    pub fn seed(&mut self, seed: &Int) {
        let hex = seed.abs().magnitude_radix(16);
        // Words from the hex digits, least significant first.
        let bytes = hex.as_bytes();
        let mut key = Vec::with_capacity(bytes.len() / 8 + 1);
        let mut end = bytes.len();
        while end > 0 {
            let start = end.saturating_sub(8);
            let word = std::str::from_utf8(&bytes[start..end]).ok().and_then(|s| u32::from_str_radix(s, 16).ok());
            key.push(word.unwrap_or(0));
            end = start;
        }
        while key.len() > 1 && key.last() == Some(&0) {
            key.pop();
        }
        if key.is_empty() {
            key.push(0);
        }
        self.init_by_array(&key);
    }

    /// `random.seed(x)` for a float: CPython seeds with `hash(x)` taken as an unsigned
    /// 64-bit number. A NaN's hash is its identity in CPython 3.11, so there is no
    /// reproducible answer: `None`.
    #[must_use]
    pub fn seed_f64(&mut self, x: f64) -> Option<()> {
        let h = super::bigint::py_hash_f64(x)?;
        self.seed(&Int::from(h as u64));
        Some(())
    }

    fn init_genrand(&mut self, s: u32) {
        self.mt[0] = s;
        for i in 1..N {
            let prev = self.mt[i - 1];
            self.mt[i] = 1_812_433_253u32.wrapping_mul(prev ^ (prev >> 30)).wrapping_add(i as u32);
        }
        self.mti = N;
    }

    fn init_by_array(&mut self, key: &[u32]) {
        self.init_genrand(19_650_218);
        let mut i = 1;
        let mut j = 0;
        let len = key.len();
        let mut k = N.max(len);
        while k > 0 {
            let prev = self.mt[i - 1];
            self.mt[i] = (self.mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_664_525))
                .wrapping_add(key[j])
                .wrapping_add(j as u32);
            i += 1;
            j += 1;
            if i >= N {
                self.mt[0] = self.mt[N - 1];
                i = 1;
            }
            if j >= len {
                j = 0;
            }
            k -= 1;
        }
        k = N - 1;
        while k > 0 {
            let prev = self.mt[i - 1];
            self.mt[i] = (self.mt[i] ^ (prev ^ (prev >> 30)).wrapping_mul(1_566_083_941)).wrapping_sub(i as u32);
            i += 1;
            if i >= N {
                self.mt[0] = self.mt[N - 1];
                i = 1;
            }
            k -= 1;
        }
        self.mt[0] = 0x8000_0000;
    }

    /// The next 32-bit output (`genrand_uint32`).
    pub fn next_u32(&mut self) -> u32 {
        let mag01 = [0u32, MATRIX_A];
        if self.mti >= N {
            for kk in 0..N {
                let y = (self.mt[kk] & UPPER_MASK) | (self.mt[(kk + 1) % N] & LOWER_MASK);
                self.mt[kk] = self.mt[(kk + M) % N] ^ (y >> 1) ^ mag01[(y & 1) as usize];
            }
            self.mti = 0;
        }
        let mut y = self.mt[self.mti];
        self.mti += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y
    }

    /// `random.random()`: 53 random bits in `[0, 1)`.
    pub fn random(&mut self) -> f64 {
        let a = self.next_u32() >> 5;
        let b = self.next_u32() >> 6;
        (f64::from(a) * 67_108_864.0 + f64::from(b)) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// `random.getrandbits(k)`.
    ///
    /// # Errors
    /// `ValueError` for a negative `k`, as CPython; `MemoryError` past `max_bits` (see
    /// [`super::bigint::DEFAULT_MAX_BITS`]).
    pub fn getrandbits(&mut self, k: i64, max_bits: u64) -> Result<Int, NumError> {
        if k < 0 {
            return Err(NumError::new("ValueError", "number of bits must be non-negative"));
        }
        if k.unsigned_abs() > max_bits {
            return Err(NumError::new(
                "MemoryError",
                format!("getrandbits({k}) is over this interpreter's budget of {max_bits} bits"),
            ));
        }
        Ok(self.bits(k.unsigned_abs()))
    }

    fn bits(&mut self, k: u64) -> Int {
        if k == 0 {
            return Int::ZERO;
        }
        if k <= 32 {
            return Int::Small(i64::from(self.next_u32() >> (32 - k)));
        }
        // Words least significant first; the last one keeps its top bits.
        let mut words = Vec::with_capacity(k.div_ceil(32) as usize);
        let mut left = k;
        while left > 0 {
            let mut r = self.next_u32();
            if left < 32 {
                r >>= 32 - left;
            }
            words.push(r);
            left = left.saturating_sub(32);
        }
        Int::from_u32_words(&words)
    }

    /// `_randbelow_with_getrandbits(n)`: uniform in `[0, n)` for `n > 0` (0 for `n <= 0`).
    pub fn randbelow(&mut self, n: &Int) -> Int {
        if n.signum() <= 0 {
            return Int::ZERO;
        }
        let k = n.bit_length();
        let mut r = self.bits(k);
        while r >= *n {
            r = self.bits(k);
        }
        r
    }

    fn randbelow_usize(&mut self, n: usize) -> usize {
        let r = self.randbelow(&Int::from(n as u64));
        r.to_i64().map_or(0, |v| v as usize)
    }

    /// `random.randrange(start, stop, step)`; `stop == None` is `randrange(start)`.
    ///
    /// # Errors
    /// CPython's `ValueError`s for an empty range or a zero step.
    pub fn randrange(&mut self, start: &Int, stop: Option<&Int>, step: &Int) -> Result<Int, NumError> {
        let one = Int::Small(1);
        let Some(stop) = stop else {
            if *step != one {
                return Err(NumError::new("TypeError", "Missing a non-None stop argument"));
            }
            if start.signum() > 0 {
                return Ok(self.randbelow(start));
            }
            return Err(NumError::new("ValueError", "empty range for randrange()"));
        };
        let width = stop.sub(start);
        if *step == one {
            if width.signum() > 0 {
                return Ok(start.add(&self.randbelow(&width)));
            }
            return Err(NumError::new("ValueError", format!("empty range for randrange() ({start}, {stop}, {width})")));
        }
        let n = match step.signum() {
            1 => width.add(step).sub(&one).floordiv(step)?,
            -1 => width.add(step).add(&one).floordiv(step)?,
            _ => return Err(NumError::new("ValueError", "zero step for randrange()")),
        };
        if n.signum() <= 0 {
            return Err(NumError::new("ValueError", "empty range for randrange()"));
        }
        Ok(start.add(&step.mul(&self.randbelow(&n))))
    }

    /// `random.randint(a, b)`: `randrange(a, b + 1)`.
    ///
    /// # Errors
    /// As [`Random::randrange`] when `b < a`.
    pub fn randint(&mut self, a: &Int, b: &Int) -> Result<Int, NumError> {
        self.randrange(a, Some(&b.add(&Int::Small(1))), &Int::Small(1))
    }

    /// `random.choice(seq)`: the index to take from a sequence of length `len`.
    ///
    /// # Errors
    /// `IndexError: Cannot choose from an empty sequence`.
    pub fn choice_index(&mut self, len: usize) -> Result<usize, NumError> {
        if len == 0 {
            return Err(NumError::new("IndexError", "Cannot choose from an empty sequence"));
        }
        Ok(self.randbelow_usize(len))
    }

    /// `random.shuffle(x)` in place, on any slice (the VM's list items).
    pub fn shuffle<T>(&mut self, x: &mut [T]) {
        for i in (1..x.len()).rev() {
            let j = self.randbelow_usize(i + 1);
            x.swap(i, j);
        }
    }

    /// `random.uniform(a, b)`.
    pub fn uniform(&mut self, a: f64, b: f64) -> f64 {
        a + (b - a) * self.random()
    }

    /// `random.sample(population, k)` for a population of length `n`: the indices taken,
    /// in order.
    ///
    /// # Errors
    /// `ValueError: Sample larger than population or is negative`.
    pub fn sample_indices(&mut self, n: usize, k: i64) -> Result<Vec<usize>, NumError> {
        let k = match usize::try_from(k) {
            Ok(k) if k <= n => k,
            _ => return Err(NumError::new("ValueError", "Sample larger than population or is negative")),
        };
        let mut setsize = 21usize;
        if k > 5 {
            let e = ((k * 3) as f64).ln() / 4f64.ln();
            setsize += 4usize.pow(e.ceil() as u32);
        }
        let mut result = Vec::with_capacity(k);
        if n <= setsize {
            let mut pool: Vec<usize> = (0..n).collect();
            for i in 0..k {
                let j = self.randbelow_usize(n - i);
                result.push(pool[j]);
                pool[j] = pool[n - i - 1];
            }
        } else {
            let mut selected = std::collections::HashSet::with_capacity(k);
            for _ in 0..k {
                let mut j = self.randbelow_usize(n);
                while selected.contains(&j) {
                    j = self.randbelow_usize(n);
                }
                selected.insert(j);
                result.push(j);
            }
        }
        Ok(result)
    }

    /// `random.choices(population, weights, k=k)` for a population of length `n`:
    /// the indices taken. `weights` (already floats, as CPython adds `0.0`) are relative
    /// weights; `None` is uniform.
    ///
    /// # Errors
    /// CPython's `ValueError`s: weights of another length, a zero or non-finite total;
    /// `IndexError` for an empty population.
    pub fn choices_indices(&mut self, n: usize, weights: Option<&[f64]>, k: usize) -> Result<Vec<usize>, NumError> {
        let Some(weights) = weights else {
            // An empty population gives index 0: the VM's indexing raises CPython's
            // IndexError for the sequence's type, as `population[0]` does there.
            let nf = n as f64;
            return Ok((0..k).map(|_| (self.random() * nf).floor() as usize).collect());
        };
        let mut cum = Vec::with_capacity(weights.len());
        let mut acc = 0.0;
        for (i, &w) in weights.iter().enumerate() {
            acc = if i == 0 { w } else { acc + w };
            cum.push(acc);
        }
        if cum.len() != n {
            return Err(NumError::new("ValueError", "The number of weights does not match the population"));
        }
        let Some(&last) = cum.last() else {
            return Err(NumError::new("IndexError", "list index out of range"));
        };
        let total = last + 0.0;
        if total <= 0.0 {
            return Err(NumError::new("ValueError", "Total of weights must be greater than zero"));
        }
        if !total.is_finite() {
            return Err(NumError::new("ValueError", "Total of weights must be finite"));
        }
        let hi = n - 1;
        Ok((0..k)
            .map(|_| {
                let x = self.random() * total;
                // bisect_right(cum, x, 0, hi)
                let (mut lo, mut h) = (0, hi);
                while lo < h {
                    let mid = (lo + h) / 2;
                    if x < cum[mid] {
                        h = mid;
                    } else {
                        lo = mid + 1;
                    }
                }
                lo
            })
            .collect())
    }
}
