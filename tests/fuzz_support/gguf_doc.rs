//! Structured GGUF inputs: a fixture model with some of its integer hyper-parameters rewritten
//! to edge values (0, 1, 2^31−1, 2^32−1, 2^63, or any u64), now and then a few header bytes
//! flipped or the file cut short. Driven by `arbitrary::Unstructured`, like conf_doc.rs.

use arbitrary::{Result, Unstructured};

use super::gguf_values::{integer_values, patched};

const EDGES: &[u64] = &[
    0,
    1,
    2,
    3,
    16,
    31,
    32,
    65_535,
    65_536,
    2_147_483_647,
    4_294_967_295,
    1 << 63,
    u64::MAX,
];

/// One fixture's bytes, rewritten.
pub fn model(u: &mut Unstructured, fixtures: &[Vec<u8>]) -> Result<Vec<u8>> {
    let mut b = u.choose(fixtures)?.clone();
    let values = integer_values(&b);
    for _ in 0..u.int_in_range(0..=4)? {
        let (_, ty, at, n) = u.choose(&values)?;
        let v = if u.ratio(3, 4)? {
            *u.choose(EDGES)?
        } else {
            u.arbitrary()?
        };
        b = patched(&b, *ty, *at, *n, v);
    }
    if u.ratio(1, 8)? {
        // The header is in the first few KiB of every fixture.
        let window = b.len().min(16 * 1024);
        for _ in 0..u.int_in_range(1..=4)? {
            let at = u.choose_index(window)?;
            b[at] = u.arbitrary()?;
        }
    }
    if u.ratio(1, 16)? {
        let keep = u.choose_index(b.len())?;
        b.truncate(keep);
    }
    Ok(b)
}
