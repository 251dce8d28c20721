//! `-ot` rules that pin layer ranges to devices, written the way the corpus writes them by hand:
//! `blk\.([0-9]|1[01])\.=CUDA0`. The layer alternation is the canonical decomposition of a
//! decimal range into `prefix[a-b][0-9]…` pieces (the fewest such pieces), with each digit class
//! in its shortest spelling. llama.cpp splits `-ot` on every `,`, so nothing generated here
//! contains one (no `{m,n}` quantifiers); `.` is escaped, and the `\.` after the group keeps
//! `blk\.1` from also matching `blk.12`.

use std::ops::RangeInclusive;

use crate::flags::{BufferType, OtRule, generated_rules, ot_value};

/// Why a set of layer assignments cannot be written as `-ot` rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleError {
    #[error("layer range {start}-{end} is empty (start after end)")]
    EmptyRange { start: u32, end: u32 },
    #[error(
        "layers {first_start}-{first_end} ({first}) and {second_start}-{second_end} ({second}) overlap; \
         llama.cpp would give the shared layers to the first rule only"
    )]
    Overlap {
        first: BufferType,
        first_start: u32,
        first_end: u32,
        second: BufferType,
        second_start: u32,
        second_end: u32,
    },
}

/// The alternation matching exactly the decimal numbers `start..=end` (no leading zeros), e.g.
/// `[0-9]|1[01]` for 0-11 and `19|2[0-7]` for 19-27. The endpoints may come in either order.
pub fn layer_range_pattern(start: u32, end_incl: u32) -> String {
    let (lo, hi) = (start.min(end_incl), start.max(end_incl));
    pieces(lo, hi).join("|")
}

/// The alternation for a set of ranges (sorted and merged first), e.g. `[0-3]|1[2-5]`.
pub fn layer_set_pattern(ranges: &[RangeInclusive<u32>]) -> String {
    merge(ranges)
        .iter()
        .flat_map(|r| pieces(*r.start(), *r.end()))
        .collect::<Vec<_>>()
        .join("|")
}

/// `blk\.(R)\.=BUF` for one device's layers.
pub fn layer_rule(buffer: &BufferType, ranges: &[RangeInclusive<u32>]) -> String {
    format!("{}={buffer}", layer_pattern(ranges))
}

/// `blk\.(R)\.`: every tensor of the listed layers.
fn layer_pattern(ranges: &[RangeInclusive<u32>]) -> String {
    format!(r"blk\.({})\.", layer_set_pattern(ranges))
}

/// The full `-ot` value for the pinned strategies: the text of [`layer_rules`].
pub fn device_rules(
    assignments: &[(BufferType, RangeInclusive<u32>)],
    experts_to_cpu: bool,
) -> Result<String, RuleError> {
    layer_rules(assignments, experts_to_cpu).map(|rules| ot_value(&rules))
}

/// The `-ot` rules for the pinned strategies: one rule per buffer type (in order of first
/// appearance), every tensor of the listed layers to that buffer; with `experts_to_cpu`, the
/// routed experts of every other layer to the CPU by a last `exps=CPU`-style rule (strategy D:
/// the first matching rule wins, so experts of assigned layers stay on their device).
pub fn layer_rules(
    assignments: &[(BufferType, RangeInclusive<u32>)],
    experts_to_cpu: bool,
) -> Result<Vec<OtRule>, RuleError> {
    if let Some((_, r)) = assignments.iter().find(|(_, r)| r.start() > r.end()) {
        return Err(RuleError::EmptyRange {
            start: *r.start(),
            end: *r.end(),
        });
    }
    check_disjoint(assignments)?;
    let mut order: Vec<BufferType> = Vec::new();
    for (b, _) in assignments {
        if !order.contains(b) {
            order.push(b.clone());
        }
    }
    let mut rules: Vec<(String, BufferType)> = order
        .iter()
        .map(|b| {
            let ranges: Vec<RangeInclusive<u32>> = assignments
                .iter()
                .filter(|(x, _)| x == b)
                .map(|(_, r)| r.clone())
                .collect();
            (layer_pattern(&ranges), b.clone())
        })
        .collect();
    if experts_to_cpu {
        rules.push((EXPERTS_PATTERN.to_string(), BufferType::Cpu));
    }
    Ok(generated_rules(rules))
}

/// The pattern of the routed-expert rule: `exps`, as the corpus writes it. Among the tensor
/// names llama.cpp models use it matches exactly what llama.cpp's own `LLM_FFN_EXPS_REGEX`
/// (`-cmoe`) matches (`ffn_{up,down,gate,gate_up}_exps`, `_chexps`; tests/place_regex.rs).
pub const EXPERTS_PATTERN: &str = "exps";

fn check_disjoint(assignments: &[(BufferType, RangeInclusive<u32>)]) -> Result<(), RuleError> {
    for (i, (a, ra)) in assignments.iter().enumerate() {
        for (b, rb) in assignments.iter().skip(i + 1) {
            if ra.start() <= rb.end() && rb.start() <= ra.end() {
                return Err(RuleError::Overlap {
                    first: a.clone(),
                    first_start: *ra.start(),
                    first_end: *ra.end(),
                    second: b.clone(),
                    second_start: *rb.start(),
                    second_end: *rb.end(),
                });
            }
        }
    }
    Ok(())
}

fn merge(ranges: &[RangeInclusive<u32>]) -> Vec<RangeInclusive<u32>> {
    let mut sorted: Vec<(u32, u32)> = ranges
        .iter()
        .map(|r| (*r.start().min(r.end()), *r.start().max(r.end())))
        .collect();
    sorted.sort_unstable();
    let mut out: Vec<(u32, u32)> = Vec::new();
    for (a, b) in sorted {
        match out.last_mut() {
            Some((_, end)) if a <= end.saturating_add(1) => *end = (*end).max(b),
            _ => out.push((a, b)),
        }
    }
    out.into_iter().map(|(a, b)| a..=b).collect()
}

/// `lo..=hi` as `prefix[a-b][0-9]…` pieces: first by digit count, then within one digit count
/// by the canonical split (a lower partial block, whole blocks, an upper partial block).
fn pieces(lo: u32, hi: u32) -> Vec<String> {
    let mut out = Vec::new();
    let mut start = lo;
    loop {
        let digits = start.to_string().len() as u32;
        let top = 10u64.pow(digits) - 1;
        let end = u64::from(hi).min(top) as u32;
        same_length(&start.to_string(), &end.to_string(), &mut out);
        if u64::from(hi) <= top {
            break;
        }
        start = (top + 1) as u32;
    }
    out
}

/// `lo` and `hi` have the same number of digits and `lo <= hi`.
fn same_length(lo: &str, hi: &str, out: &mut Vec<String>) {
    let (Some(l0), Some(h0)) = (lo.bytes().next(), hi.bytes().next()) else {
        return;
    };
    let (lo_rest, hi_rest) = (&lo[1..], &hi[1..]);
    if lo_rest.is_empty() {
        out.push(class(l0, h0));
        return;
    }
    if l0 == h0 {
        let mut sub = Vec::new();
        same_length(lo_rest, hi_rest, &mut sub);
        out.extend(sub.into_iter().map(|s| format!("{}{s}", l0 as char)));
        return;
    }
    let any = "[0-9]".repeat(lo_rest.len());
    let lo_whole = lo_rest.bytes().all(|b| b == b'0');
    let hi_whole = hi_rest.bytes().all(|b| b == b'9');
    let mut first = l0;
    if !lo_whole {
        let nines = "9".repeat(lo_rest.len());
        let mut sub = Vec::new();
        same_length(lo_rest, &nines, &mut sub);
        out.extend(sub.into_iter().map(|s| format!("{}{s}", l0 as char)));
        first = l0 + 1;
    }
    let last = if hi_whole { h0 } else { h0 - 1 };
    if first <= last {
        out.push(format!("{}{any}", class(first, last)));
    }
    if !hi_whole {
        let zeros = "0".repeat(hi_rest.len());
        let mut sub = Vec::new();
        same_length(&zeros, hi_rest, &mut sub);
        out.extend(sub.into_iter().map(|s| format!("{}{s}", h0 as char)));
    }
}

/// The shortest spelling of the digits `a..=b`: `7`, `[01]`, `[0-9]`.
fn class(a: u8, b: u8) -> String {
    match b.saturating_sub(a) {
        0 => (a as char).to_string(),
        1 => format!("[{}{}]", a as char, b as char),
        _ => format!("[{}-{}]", a as char, b as char),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corpus_shapes() {
        assert_eq!(layer_range_pattern(0, 11), "[0-9]|1[01]");
        assert_eq!(layer_range_pattern(12, 15), "1[2-5]");
        assert_eq!(layer_range_pattern(33, 46), "3[3-9]|4[0-6]");
        assert_eq!(layer_range_pattern(17, 24), "1[7-9]|2[0-4]");
        assert_eq!(layer_range_pattern(19, 27), "19|2[0-7]");
        assert_eq!(layer_range_pattern(0, 34), "[0-9]|[12][0-9]|3[0-4]");
        assert_eq!(layer_range_pattern(7, 7), "7");
        assert_eq!(layer_range_pattern(10, 10), "10");
        assert_eq!(layer_range_pattern(0, 10), "[0-9]|10");
        assert_eq!(layer_range_pattern(95, 123), "9[5-9]|1[01][0-9]|12[0-3]");
    }
}
