//! Placement: which tensors go to which device. This part writes the `-ot` rules of the pinned
//! strategies ([`regex`]) and reads hand-written ones back as layer sets on a real model
//! ([`expand`], [`lint`]). See docs/placement.md.
//!
//! ```
//! use profilec::flags::{BufferType, ot_value, place};
//! use profilec::place::layer_rules;
//! let cuda = BufferType::cuda;
//! let rules = layer_rules(&[(cuda(0), 0..=11), (cuda(1), 12..=15)], true).unwrap();
//! let ot = ot_value(&rules);
//! assert_eq!(ot, r"blk\.([0-9]|1[01])\.=CUDA0,blk\.(1[2-5])\.=CUDA1,exps=CPU");
//! assert_eq!(place(&rules, "blk.12.attn_q.weight").unwrap().buffer, cuda(1));
//! assert_eq!(place(&rules, "blk.30.ffn_up_exps.weight").unwrap().buffer, BufferType::Cpu);
//! ```

pub mod eval;
pub mod expand;
pub mod lint;
pub mod regex;

pub use expand::{BufferUse, Expansion, RuleUse, expand, layer_runs};
pub use lint::lint;
pub use regex::{
    EXPERTS_PATTERN, RuleError, device_rules, layer_range_pattern, layer_rule, layer_rules,
    layer_set_pattern,
};
pub mod fit;
pub mod solver;
