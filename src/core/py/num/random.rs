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
//!   cryptographic. A str or bytes seed is hashed with SHA-512 as CPython does:
//!   [`Random::seed_str`], [`Random::seed_bytes`].
//! - [`Random::random`] (`[0, 1)` from 53 bits), [`Random::getrandbits`],
//!   [`Random::randbelow`], [`Random::randrange`], [`Random::randint`],
//!   [`Random::choice_index`], [`Random::shuffle`], [`Random::uniform`],
//!   [`Random::sample_indices`], [`Random::choices_indices`], [`Random::gauss`],
//!   [`Random::normalvariate`], [`Random::expovariate`], [`Random::triangular`]. Sequence
//!   methods return indices: the VM picks the elements. The distributions call `ln`,
//!   `sin`, `cos`, `sqrt`, `exp` as CPython calls libm: natively the C library, in wasm
//!   Rust's port of musl (the same within an ulp, rarely not the same ulp).

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
    /// `gauss()` makes two values at a time and keeps the second (`self.gauss_next`).
    gauss_next: Option<f64>,
}

impl Random {
    /// `random.Random(seed)` for an int seed.
    #[must_use]
    pub fn from_seed(seed: &Int) -> Random {
        let mut r = Random { mt: Box::new([0; N]), mti: N + 1, gauss_next: None };
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
        self.gauss_next = None;
    }

    /// The generator's words and the index of the next one (`getstate()`'s content): the
    /// VM keeps them in its heap and steps them there.
    #[must_use]
    pub fn state(&self) -> (&[u32], usize) {
        (&self.mt[..], self.mti)
    }

    /// `random.seed(s)` for a str (version 2, the default): the int of the UTF-8 bytes
    /// followed by their SHA-512, big-endian, as `Lib/random.py`.
    pub fn seed_str(&mut self, s: &str) {
        self.seed_bytes(s.as_bytes());
    }

    /// `random.seed(b)` for bytes or a bytearray.
    pub fn seed_bytes(&mut self, b: &[u8]) {
        let mut all = b.to_vec();
        all.extend_from_slice(&sha512(b));
        self.seed(&Int::from_bytes_be(&all));
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

    /// `random.gauss(mu, sigma)` (Box-Muller, two values per pair of draws).
    pub fn gauss(&mut self, mu: f64, sigma: f64) -> f64 {
        let z = match self.gauss_next.take() {
            Some(z) => z,
            None => {
                let x2pi = self.random() * std::f64::consts::TAU;
                let g2rad = (-2.0 * (1.0 - self.random()).ln()).sqrt();
                self.gauss_next = Some(x2pi.sin() * g2rad);
                x2pi.cos() * g2rad
            }
        };
        mu + z * sigma
    }

    /// `random.normalvariate(mu, sigma)` (Kinderman and Monahan).
    pub fn normalvariate(&mut self, mu: f64, sigma: f64) -> f64 {
        let magic = 4.0 * (-0.5f64).exp() / 2.0f64.sqrt();
        loop {
            let u1 = self.random();
            let u2 = 1.0 - self.random();
            let z = magic * (u1 - 0.5) / u2;
            let zz = z * z / 4.0;
            if zz <= -u2.ln() {
                return mu + z * sigma;
            }
        }
    }

    /// `random.expovariate(lambd)`.
    ///
    /// # Errors
    /// `ZeroDivisionError: float division by zero` for `lambd == 0`, as CPython.
    pub fn expovariate(&mut self, lambd: f64) -> Result<f64, NumError> {
        let u = self.random();
        if lambd == 0.0 {
            return Err(NumError::new("ZeroDivisionError", "float division by zero"));
        }
        Ok(-(1.0 - u).ln() / lambd)
    }

    /// `random.triangular(low, high, mode)`; `mode == None` is the midpoint.
    pub fn triangular(&mut self, low: f64, high: f64, mode: Option<f64>) -> f64 {
        let mut u = self.random();
        let mut c = match mode {
            None => 0.5,
            Some(_) if high - low == 0.0 => return low,
            Some(m) => (m - low) / (high - low),
        };
        let (mut low, mut high) = (low, high);
        if u > c {
            u = 1.0 - u;
            c = 1.0 - c;
            std::mem::swap(&mut low, &mut high);
        }
        low + (high - low) * (u * c).sqrt()
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

/// SHA-512 (FIPS 180-4), for `random.seed` of a str or bytes.
#[must_use]
pub fn sha512(data: &[u8]) -> [u8; 64] {
    const K: [u64; 80] = [
        0x428a_2f98_d728_ae22,
        0x7137_4491_23ef_65cd,
        0xb5c0_fbcf_ec4d_3b2f,
        0xe9b5_dba5_8189_dbbc,
        0x3956_c25b_f348_b538,
        0x59f1_11f1_b605_d019,
        0x923f_82a4_af19_4f9b,
        0xab1c_5ed5_da6d_8118,
        0xd807_aa98_a303_0242,
        0x1283_5b01_4570_6fbe,
        0x2431_85be_4ee4_b28c,
        0x550c_7dc3_d5ff_b4e2,
        0x72be_5d74_f27b_896f,
        0x80de_b1fe_3b16_96b1,
        0x9bdc_06a7_25c7_1235,
        0xc19b_f174_cf69_2694,
        0xe49b_69c1_9ef1_4ad2,
        0xefbe_4786_384f_25e3,
        0x0fc1_9dc6_8b8c_d5b5,
        0x240c_a1cc_77ac_9c65,
        0x2de9_2c6f_592b_0275,
        0x4a74_84aa_6ea6_e483,
        0x5cb0_a9dc_bd41_fbd4,
        0x76f9_88da_8311_53b5,
        0x983e_5152_ee66_dfab,
        0xa831_c66d_2db4_3210,
        0xb003_27c8_98fb_213f,
        0xbf59_7fc7_beef_0ee4,
        0xc6e0_0bf3_3da8_8fc2,
        0xd5a7_9147_930a_a725,
        0x06ca_6351_e003_826f,
        0x1429_2967_0a0e_6e70,
        0x27b7_0a85_46d2_2ffc,
        0x2e1b_2138_5c26_c926,
        0x4d2c_6dfc_5ac4_2aed,
        0x5338_0d13_9d95_b3df,
        0x650a_7354_8baf_63de,
        0x766a_0abb_3c77_b2a8,
        0x81c2_c92e_47ed_aee6,
        0x9272_2c85_1482_353b,
        0xa2bf_e8a1_4cf1_0364,
        0xa81a_664b_bc42_3001,
        0xc24b_8b70_d0f8_9791,
        0xc76c_51a3_0654_be30,
        0xd192_e819_d6ef_5218,
        0xd699_0624_5565_a910,
        0xf40e_3585_5771_202a,
        0x106a_a070_32bb_d1b8,
        0x19a4_c116_b8d2_d0c8,
        0x1e37_6c08_5141_ab53,
        0x2748_774c_df8e_eb99,
        0x34b0_bcb5_e19b_48a8,
        0x391c_0cb3_c5c9_5a63,
        0x4ed8_aa4a_e341_8acb,
        0x5b9c_ca4f_7763_e373,
        0x682e_6ff3_d6b2_b8a3,
        0x748f_82ee_5def_b2fc,
        0x78a5_636f_4317_2f60,
        0x84c8_7814_a1f0_ab72,
        0x8cc7_0208_1a64_39ec,
        0x90be_fffa_2363_1e28,
        0xa450_6ceb_de82_bde9,
        0xbef9_a3f7_b2c6_7915,
        0xc671_78f2_e372_532b,
        0xca27_3ece_ea26_619c,
        0xd186_b8c7_21c0_c207,
        0xeada_7dd6_cde0_eb1e,
        0xf57d_4f7f_ee6e_d178,
        0x06f0_67aa_7217_6fba,
        0x0a63_7dc5_a2c8_98a6,
        0x113f_9804_bef9_0dae,
        0x1b71_0b35_131c_471b,
        0x28db_77f5_2304_7d84,
        0x32ca_ab7b_40c7_2493,
        0x3c9e_be0a_15c9_bebc,
        0x431d_67c4_9c10_0d4c,
        0x4cc5_d4be_cb3e_42b6,
        0x597f_299c_fc65_7e2a,
        0x5fcb_6fab_3ad6_faec,
        0x6c44_198c_4a47_5817,
    ];
    let mut h: [u64; 8] = [
        0x6a09_e667_f3bc_c908,
        0xbb67_ae85_84ca_a73b,
        0x3c6e_f372_fe94_f82b,
        0xa54f_f53a_5f1d_36f1,
        0x510e_527f_ade6_82d1,
        0x9b05_688c_2b3e_6c1f,
        0x1f83_d9ab_fb41_bd6b,
        0x5be0_cd19_137e_2179,
    ];
    let mut msg = data.to_vec();
    let bit_len = (data.len() as u128) * 8;
    msg.push(0x80);
    while msg.len() % 128 != 112 {
        msg.push(0);
    }
    msg.extend_from_slice(&bit_len.to_be_bytes());
    for block in msg.chunks(128) {
        let mut w = [0u64; 80];
        for (i, word) in block.chunks(8).enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(word);
            w[i] = u64::from_be_bytes(b);
        }
        for i in 16..80 {
            let s0 = w[i - 15].rotate_right(1) ^ w[i - 15].rotate_right(8) ^ (w[i - 15] >> 7);
            let s1 = w[i - 2].rotate_right(19) ^ w[i - 2].rotate_right(61) ^ (w[i - 2] >> 6);
            w[i] = w[i - 16].wrapping_add(s0).wrapping_add(w[i - 7]).wrapping_add(s1);
        }
        let [mut a, mut b, mut c, mut d, mut e, mut f, mut g, mut hh] = h;
        for i in 0..80 {
            let s1 = e.rotate_right(14) ^ e.rotate_right(18) ^ e.rotate_right(41);
            let ch = (e & f) ^ (!e & g);
            let t1 = hh.wrapping_add(s1).wrapping_add(ch).wrapping_add(K[i]).wrapping_add(w[i]);
            let s0 = a.rotate_right(28) ^ a.rotate_right(34) ^ a.rotate_right(39);
            let maj = (a & b) ^ (a & c) ^ (b & c);
            let t2 = s0.wrapping_add(maj);
            hh = g;
            g = f;
            f = e;
            e = d.wrapping_add(t1);
            d = c;
            c = b;
            b = a;
            a = t1.wrapping_add(t2);
        }
        for (x, v) in h.iter_mut().zip([a, b, c, d, e, f, g, hh]) {
            *x = x.wrapping_add(v);
        }
    }
    let mut out = [0u8; 64];
    for (i, x) in h.iter().enumerate() {
        out[i * 8..i * 8 + 8].copy_from_slice(&x.to_be_bytes());
    }
    out
}
