//! Which of sixteen bytes are of interest, as the bits of a mask.
//!
//! The splitter and the JSON writer look for delimiters, `%` escapes and
//! bytes that JSON must escape in lines where they are dense (every dozen
//! bytes or so), so they ask about sixteen bytes at once rather than
//! calling `memchr` per match. On x86_64 this is SSE2's compares and
//! `movemask` (part of the baseline, through `safe_arch`'s safe wrappers);
//! elsewhere it is the same answer from portable code.

/// Bytes looked at together.
pub(crate) const WIDTH: usize = 16;

/// Bit `i` is set when `chunk[i] == byte`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn equal(chunk: &[u8; WIDTH], byte: u8) -> u32 {
    use safe_arch::{cmp_eq_mask_i8_m128i, m128i, move_mask_i8_m128i, set_splat_i8_m128i};
    let found = cmp_eq_mask_i8_m128i(m128i::from(*chunk), set_splat_i8_m128i(byte as i8));
    move_mask_i8_m128i(found) as u32
}

/// Bit `i` is set when `chunk[i] == byte`.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
pub(crate) fn equal(chunk: &[u8; WIDTH], byte: u8) -> u32 {
    portable_equal(chunk, byte)
}

/// [`equal`] in portable code, for other targets (and tested on all).
#[cfg(any(test, not(target_arch = "x86_64")))]
#[inline(always)]
fn portable_equal(chunk: &[u8; WIDTH], byte: u8) -> u32 {
    portable_bits(chunk, |b| b == byte)
}

/// Bit `i` is set when `lo <= chunk[i] <= hi`, for ASCII bounds
/// (`0 < lo <= hi < 0x7f`), such as the digits or `a` to `f`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn range(chunk: &[u8; WIDTH], lo: u8, hi: u8) -> u32 {
    use safe_arch::{
        cmp_gt_mask_i8_m128i as greater, cmp_lt_mask_i8_m128i as less, m128i, move_mask_i8_m128i,
        set_splat_i8_m128i as splat,
    };
    debug_assert!(0 < lo && lo <= hi && hi < 0x7f);
    let bytes = m128i::from(*chunk);
    // Compared as signed, bytes from 0x80 are negative: below any bound.
    let inside = greater(bytes, splat(lo as i8 - 1)) & less(bytes, splat(hi as i8 + 1));
    move_mask_i8_m128i(inside) as u32
}

/// Bit `i` is set when `lo <= chunk[i] <= hi`, for ASCII bounds
/// (`0 < lo <= hi < 0x7f`), such as the digits or `a` to `f`.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
pub(crate) fn range(chunk: &[u8; WIDTH], lo: u8, hi: u8) -> u32 {
    portable_range(chunk, lo, hi)
}

/// [`range`] in portable code, for other targets (and tested on all).
#[cfg(any(test, not(target_arch = "x86_64")))]
#[inline(always)]
fn portable_range(chunk: &[u8; WIDTH], lo: u8, hi: u8) -> u32 {
    portable_bits(chunk, |b| (lo..=hi).contains(&b))
}

/// Bit `i` is set when `chunk[i]` is `wanted`.
#[cfg(any(test, not(target_arch = "x86_64")))]
#[inline(always)]
fn portable_bits(chunk: &[u8; WIDTH], wanted: impl Fn(u8) -> bool) -> u32 {
    // Multiplying eight 0/1 bytes by this moves byte `k`'s bit to bit
    // 56 + k, and nothing else there: no two products share a bit, so
    // there are no carries.
    const GATHER: u64 = 0x0102_0408_1020_4080;
    let mut found = [0u8; WIDTH];
    for (found, &b) in found.iter_mut().zip(chunk) {
        *found = u8::from(wanted(b));
    }
    let (words, _) = found.as_chunks::<8>();
    let mut bits = 0;
    for (k, word) in words.iter().enumerate() {
        bits |= ((u64::from_le_bytes(*word).wrapping_mul(GATHER) >> 56) as u32) << (8 * k);
    }
    bits
}

/// Whether any of the first `n` bytes of `chunk` (all of them from `WIDTH`
/// on) is not its own content in a JSON string: a control, DEL or a byte
/// from 0x80, `"` or `\\`, and `%` if `percent`.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn any_special(chunk: &[u8; WIDTH], n: usize, percent: bool) -> bool {
    use safe_arch::{
        cmp_eq_mask_i8_m128i as equal, cmp_lt_mask_i8_m128i as less, m128i, move_mask_i8_m128i,
        set_splat_i8_m128i as splat,
    };
    let bytes = m128i::from(*chunk);
    // Compared as signed, bytes from 0x80 are negative: one compare finds
    // them and the controls.
    let mut found = less(bytes, splat(0x20))
        | equal(bytes, splat(0x7f))
        | equal(bytes, splat(b'"' as i8))
        | equal(bytes, splat(b'\\' as i8));
    if percent {
        found |= equal(bytes, splat(b'%' as i8));
    }
    let first_n = (1u32 << n.min(WIDTH)) - 1;
    move_mask_i8_m128i(found) as u32 & first_n != 0
}

/// Whether any of the first `n` bytes of `chunk` (all of them from `WIDTH`
/// on) is not its own content in a JSON string: a control, DEL or a byte
/// from 0x80, `"` or `\\`, and `%` if `percent`.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
pub(crate) fn any_special(chunk: &[u8; WIDTH], n: usize, percent: bool) -> bool {
    portable_any_special(chunk, n, percent)
}

/// [`any_special`] in portable code, for other targets (and tested on all).
#[cfg(any(test, not(target_arch = "x86_64")))]
#[inline(always)]
fn portable_any_special(chunk: &[u8; WIDTH], n: usize, percent: bool) -> bool {
    /// Entry `n` has its first `n` bytes set.
    const PREFIXES: [[u8; WIDTH]; WIDTH + 1] = {
        let mut table = [[0; WIDTH]; WIDTH + 1];
        let mut n = 0;
        while n <= WIDTH {
            let mut i = 0;
            while i < n {
                table[n][i] = 0xFF;
                i += 1;
            }
            n += 1;
        }
        table
    };
    let prefix = &PREFIXES[n.min(WIDTH)];
    // In this form (0 or 0xFF per byte, indexed, reduced with `|`) the
    // compiler vectorizes it, down to one compare and mask at the end.
    let mut any = 0u8;
    for i in 0..WIDTH {
        let b = chunk[i];
        let special = u8::from(b.wrapping_sub(b' ') > b'~' - b' ')
            | u8::from(b == b'"')
            | u8::from(b == b'\\')
            | u8::from(percent && b == b'%');
        any |= special.wrapping_neg() & prefix[i];
    }
    any != 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;

    proptest::proptest! {
        #[test]
        fn equal_marks_exactly_the_equal_bytes(
            chunk in proptest::array::uniform16(proptest::sample::select(vec![0u8, b'%', b'\t', b'a', 0x80, 0xff])),
            byte in proptest::sample::select(vec![0u8, b'%', b'\t', 0xff]),
        ) {
            let expected = chunk
                .iter()
                .enumerate()
                .filter(|&(_, &b)| b == byte)
                .fold(0u32, |bits, (i, _)| bits | 1 << i);
            proptest::prop_assert_eq!(equal(&chunk, byte), expected);
            proptest::prop_assert_eq!(portable_equal(&chunk, byte), expected);
        }

        #[test]
        fn range_marks_exactly_the_bytes_in_range(
            chunk in proptest::array::uniform16(proptest::prelude::any::<u8>()),
            (lo, hi) in (1u8..0x7f).prop_flat_map(|lo| (proptest::strategy::Just(lo), lo..0x7f)),
        ) {
            let expected = chunk
                .iter()
                .enumerate()
                .filter(|&(_, b)| (lo..=hi).contains(b))
                .fold(0u32, |bits, (i, _)| bits | 1 << i);
            proptest::prop_assert_eq!(range(&chunk, lo, hi), expected);
            proptest::prop_assert_eq!(portable_range(&chunk, lo, hi), expected);
        }

        #[test]
        fn any_special_finds_what_json_escapes(
            chunk in proptest::array::uniform16(proptest::prelude::any::<u8>()),
            n in 0usize..20,
            percent: bool,
        ) {
            let expected = chunk.iter().take(n).any(|&b| {
                let c = char::from(b);
                let escaped = serde_json::to_string(&c.to_string()).unwrap() != format!("\"{c}\"");
                b >= 0x7f || escaped || (percent && b == b'%')
            });
            proptest::prop_assert_eq!(any_special(&chunk, n, percent), expected);
            proptest::prop_assert_eq!(portable_any_special(&chunk, n, percent), expected);
        }
    }
}
