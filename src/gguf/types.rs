//! GGML tensor types: block size and bytes per block, so a tensor's byte size is exact.
//!
//! The table is `data/ggml-types.tsv` (from ggml.c's `type_traits`), embedded at build time so
//! the binary needs no data files.

use std::sync::OnceLock;

use serde::Serialize;

const TABLE: &str = include_str!("../../data/ggml-types.tsv");

/// One GGML type: `bytes = n_elements / block_size * type_size`, where `ne0` must be a multiple
/// of `block_size`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct GgmlType {
    pub id: u32,
    /// Upper-case name as llama.cpp logs it (`Q4_K`, `MXFP4`).
    pub name: &'static str,
    pub block_size: u64,
    pub type_size: u64,
    pub is_quantized: bool,
}

impl GgmlType {
    /// Looks a type up by its numeric id; `None` for removed or unknown ids (4, 5, 31–33, 36–38, …).
    pub fn from_id(id: u32) -> Option<GgmlType> {
        all().iter().copied().find(|t| t.id == id)
    }

    /// Looks a type up by name, case-insensitively (`q8_0`, `Q8_0`).
    pub fn from_name(name: &str) -> Option<GgmlType> {
        all()
            .iter()
            .copied()
            .find(|t| t.name.eq_ignore_ascii_case(name))
    }

    /// Bytes of `n_elements` elements whose row length is `ne0`; `None` if the row length is not
    /// a whole number of blocks or the size overflows.
    pub fn bytes_for(&self, ne0: u64, n_elements: u64) -> Option<u64> {
        if self.block_size == 0 || !ne0.is_multiple_of(self.block_size) {
            return None;
        }
        (n_elements / self.block_size).checked_mul(self.type_size)
    }

    /// Bits per weight, for display.
    pub fn bits_per_weight(&self) -> f64 {
        if self.block_size == 0 {
            return 0.0;
        }
        self.type_size as f64 * 8.0 / self.block_size as f64
    }
}

/// Every known type, in table order.
pub fn all() -> &'static [GgmlType] {
    static TYPES: OnceLock<Vec<GgmlType>> = OnceLock::new();
    TYPES.get_or_init(|| TABLE.lines().skip(1).filter_map(parse_row).collect())
}

fn parse_row(line: &'static str) -> Option<GgmlType> {
    let mut cols = line.split('\t');
    let id = cols.next()?.trim().parse().ok()?;
    let name = cols.next()?.trim();
    let _type_name = cols.next()?;
    let block_size = cols.next()?.trim().parse().ok()?;
    let type_size = cols.next()?.trim().parse().ok()?;
    let is_quantized = cols.next()?.trim() == "1";
    Some(GgmlType {
        id,
        name,
        block_size,
        type_size,
        is_quantized,
    })
}
