//! Integer metadata of a GGUF fixture, found and rewritten in place: the hostile
//! hyper-parameter sweep (tests/hostile.rs) and the structured GGUF fuzzing (tests/fuzz_gguf.rs,
//! fuzz/fuzz_targets/gguf_pipeline.rs) share it.

/// Integer metadata values of a GGUF: key, value type, byte offset and element count (arrays).
pub fn integer_values(b: &[u8]) -> Vec<(String, u32, usize, usize)> {
    let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap()) as usize;
    let size = |ty: u32| match ty {
        0 | 1 | 7 => Some(1),
        2 | 3 => Some(2),
        4..=6 => Some(4),
        10..=12 => Some(8),
        _ => None,
    };
    let is_int = |ty: u32| matches!(ty, 0..=5 | 10 | 11);
    fn skip(b: &[u8], ty: u32, o: usize, size: &dyn Fn(u32) -> Option<usize>) -> usize {
        let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap()) as usize;
        match ty {
            8 => o + 8 + u64_at(o),
            9 => {
                let et = u32::from_le_bytes(b[o..o + 4].try_into().unwrap());
                let n = u64_at(o + 4);
                match size(et) {
                    Some(s) => o + 12 + s * n,
                    None => (0..n).fold(o + 12, |o, _| skip(b, et, o, size)),
                }
            }
            t => o + size(t).expect("scalar"),
        }
    }
    let n_kv = u64_at(16);
    let mut o = 24;
    let mut out = Vec::new();
    for _ in 0..n_kv {
        let len = u64_at(o);
        let key = String::from_utf8_lossy(&b[o + 8..o + 8 + len]).into_owned();
        o += 8 + len;
        let ty = u32_at(o);
        o += 4;
        if is_int(ty) {
            out.push((key.clone(), ty, o, 1));
        } else if ty == 9 && is_int(u32_at(o)) {
            out.push((key.clone(), u32_at(o), o + 12, u64_at(o + 4)));
        }
        o = skip(b, ty, o, &size);
    }
    out
}

/// `b` with the integer value (or every element of the array) at `at` set to `v`, saturated to
/// the type's width.
pub fn patched(b: &[u8], ty: u32, at: usize, n: usize, v: u64) -> Vec<u8> {
    let mut b = b.to_vec();
    let width = match ty {
        0 | 1 => 1,
        2 | 3 => 2,
        4 | 5 => 4,
        _ => 8,
    };
    let v = if width < 8 {
        v.min((1u64 << (8 * width)) - 1)
    } else {
        v
    };
    for i in 0..n {
        let o = at + i * width;
        b[o..o + width].copy_from_slice(&v.to_le_bytes()[..width]);
    }
    b
}
