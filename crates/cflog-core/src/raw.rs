//! Splitting a line into fields: no allocation, no errors.
//!
//! For maintainers: this is the innermost loop of every parse.
//! [`split_spans`] records each field's start and end, the layout
//! [`LogLine`](crate::LogLine) reads (so that fields may also be slices
//! that no delimiter separates, as the values of a JSON line are). A
//! one-byte delimiter is found 64 bytes at a time, as the bits of a mask
//! (sixteen bytes per SSE2 compare on x86_64); a longer one with `memmem`.

use memchr::memmem;

use crate::mask;
use crate::schema::Delimiter;

/// Splits `line` into exactly `expected` fields, writing the start and end
/// of field `i` to `spans[2 * i]` and `spans[2 * i + 1]` (`spans` is grown
/// once, then reused). The line must have `expected` fields, or one more
/// that is empty (a trailing delimiter, as in some AWS examples). Returns
/// the number of fields found when it has neither.
pub(crate) fn split_spans(
    line: &[u8],
    delimiter: &Delimiter,
    spans: &mut Vec<u32>,
    expected: usize,
) -> Result<(), usize> {
    // One (start, end) pair per column, and room past them for the
    // unconditional writes of `Fields::record_bits`.
    let room = 2 * (expected + WINDOW);
    if spans.len() < room {
        spans.resize(room, 0);
    }
    let (pairs, _) = spans[..room].as_chunks_mut::<2>();
    let delimiter_len = delimiter.as_bytes().len();
    let mut fields = Fields { pairs, count: 0 };
    match delimiter.as_bytes() {
        [byte] => fields.split_at_byte(line, *byte),
        bytes => {
            let mut record = |end: usize| fields.record(end as u32);
            memmem::find_iter(line, bytes).for_each(&mut record);
        }
    }
    fields.record(line.len() as u32);
    let count = fields.count;
    fields.fill_starts(delimiter_len as u32);
    // One extra field is tolerated when it is empty: when it starts (one
    // delimiter after the last column's end) at the end of the line.
    let trailing_empty = count == expected + 1
        && expected > 0
        && spans[2 * expected - 1] as usize + delimiter_len == line.len();
    if count == expected || trailing_empty {
        Ok(())
    } else {
        Err(count)
    }
}

/// The (start, end) pairs being recorded, and how many fields were found
/// (which may be more than there is room for).
///
/// Fields are recorded by their ends alone; each start (one delimiter past
/// the previous end) is filled in at the end, in one pass that has no
/// chain of dependencies from one field to the next.
struct Fields<'s> {
    pairs: &'s mut [[u32; 2]],
    count: usize,
}

impl Fields<'_> {
    /// Ends the current field at `end`.
    #[inline]
    fn record(&mut self, end: u32) {
        if let Some([_, slot]) = self.pairs.get_mut(self.count) {
            *slot = end;
        }
        self.count += 1;
    }

    /// Writes the start of every recorded field that there was room for.
    #[inline]
    fn fill_starts(&mut self, delimiter_len: u32) {
        let recorded = self.count.min(self.pairs.len());
        let mut start = 0;
        for pair in &mut self.pairs[..recorded] {
            pair[0] = start;
            start = pair[1] + delimiter_len;
        }
    }

    /// Ends a field at every `byte` in `line`.
    ///
    /// Delimiters are dense (a field averages a dozen bytes), so a `memchr`
    /// call per field costs more than the search itself. This finds every
    /// delimiter of 64 bytes at once as the bits of a mask (sixteen bytes
    /// per SSE2 compare on x86_64).
    #[inline]
    fn split_at_byte(&mut self, line: &[u8], byte: u8) {
        let (blocks, rest) = line.as_chunks::<BLOCK>();
        for (b, block) in blocks.iter().enumerate() {
            self.record_bits((b * BLOCK) as u32, mask(block, byte));
        }
        if !rest.is_empty() {
            let mut last = [0; BLOCK];
            last[..rest.len()].copy_from_slice(rest);
            // The padding may equal `byte`.
            let bits = mask(&last, byte) & ((1 << rest.len()) - 1);
            self.record_bits((blocks.len() * BLOCK) as u32, bits);
        }
    }

    /// Ends a field at each set bit of `bits`, bit `i` standing for
    /// `base + i`.
    ///
    /// How many bits are set is unpredictable, so rather than branching
    /// per delimiter this writes the ends of the next `WINDOW` bits
    /// unconditionally, whether there are that many or not: past the set
    /// bits they are garbage (`trailing_zeros` of zero is 64), left in the
    /// room beyond the count to be overwritten or ignored.
    #[inline(always)]
    fn record_bits(&mut self, base: u32, mut bits: u64) {
        let found = bits.count_ones() as usize;
        let mut at = self.count;
        loop {
            let Some(window) = self.pairs.get_mut(at..at + WINDOW) else {
                // More fields than the schema has: count them.
                self.count = at;
                while bits != 0 {
                    self.record(base + bits.trailing_zeros());
                    bits &= bits - 1;
                }
                return;
            };
            for [_, end] in window.iter_mut() {
                *end = base + bits.trailing_zeros();
                bits &= bits.wrapping_sub(1);
            }
            if bits == 0 {
                break;
            }
            at += WINDOW;
        }
        self.count += found;
    }
}

const BLOCK: usize = 64;

/// Ends written at once by [`Fields::record_bits`]. A 64-byte block of a
/// log line holds four or five delimiters; six measured faster than four
/// or eight on the benchmark corpus.
const WINDOW: usize = 6;

/// Bit `i` is set when `block[i] == byte`.
#[inline(always)]
fn mask(block: &[u8; BLOCK], byte: u8) -> u64 {
    let (chunks, _) = block.as_chunks::<{ mask::WIDTH }>();
    let mut bits = 0;
    for (k, chunk) in chunks.iter().enumerate() {
        bits |= u64::from(mask::equal(chunk, byte)) << (k * mask::WIDTH);
    }
    bits
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The obvious implementation, as an oracle.
    fn naive(line: &[u8], delimiter: &[u8]) -> Vec<u32> {
        let mut ends = Vec::new();
        let mut i = 0;
        while i + delimiter.len() <= line.len() {
            if &line[i..i + delimiter.len()] == delimiter {
                ends.push(i as u32);
                i += delimiter.len();
            } else {
                i += 1;
            }
        }
        ends.push(line.len() as u32);
        ends
    }

    fn check(line: &[u8], delimiter: &[u8]) {
        let d = Delimiter::new(delimiter).unwrap();
        let expected = naive(line, delimiter);
        // Spans: each field starts one delimiter after the previous end.
        let starts = std::iter::once(0).chain(expected.iter().map(|e| e + delimiter.len() as u32));
        let pairs: Vec<u32> = starts.zip(&expected).flat_map(|(s, &e)| [s, e]).collect();
        let mut spans = vec![7; 200]; // stale content from a longer line
        assert_eq!(split_spans(line, &d, &mut spans, expected.len()), Ok(()));
        assert_eq!(spans[..pairs.len()], pairs);
        let trailing_empty = expected.len() > 1 && pairs[pairs.len() - 2] == pairs[pairs.len() - 1];
        // A schema has at least one column.
        for n in [expected.len() - 1, expected.len() + 1]
            .into_iter()
            .filter(|&n| n > 0)
        {
            let accepted = n + 1 == expected.len() && trailing_empty;
            let result = split_spans(line, &d, &mut spans, n);
            assert_eq!(
                result,
                if accepted {
                    Ok(())
                } else {
                    Err(expected.len())
                }
            );
        }
    }

    #[test]
    fn splits_like_the_naive_oracle() {
        for line in [
            &b""[..],
            b"a",
            b"\t",
            b"a\t",
            b"\ta",
            b"a\tb\t\tc",
            b"||a|||b",
            b"a|||",
        ] {
            check(line, b"\t");
            check(line, b"|");
            check(line, b"||");
        }
        // A delimiter equal to the padding of the last block; lines of
        // several blocks, with more delimiters in a block than are
        // written at once.
        check(b"a\0b\0", b"\0");
        check(&[b'x'; 130], b"\0");
        let dense: Vec<u8> = (0..300)
            .map(|i| if i % 3 == 0 { b'\t' } else { b'a' })
            .collect();
        check(&dense, b"\t");
        check(&[b'\t'; 200], b"\t");
        check(&[b'a'; 129], b"\t");
    }

    proptest::proptest! {
        #[test]
        fn matches_the_oracle(line in proptest::collection::vec(proptest::sample::select(b"ab\t|-".to_vec()), 0..300),
                              delim in proptest::sample::select(vec![&b"\t"[..], b"|", b"||", b"|-|"])) {
            check(&line, delim);
        }
    }
}
