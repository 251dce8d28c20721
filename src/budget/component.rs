//! The parts of a device's memory a plan row sums (docs/memory-model.md): what an over-budget
//! message names as "the largest part" and what the advice and help key on.

use std::fmt;

use serde::{Serialize, Serializer};

use super::DevicePlan;

/// One component of a [`DevicePlan`]; weights and KV include their repack and recurrent parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Component {
    Weights,
    Kv,
    Compute,
    Output,
    Overhead,
}

impl Component {
    /// Every component, in the order a tie is broken (the first largest wins).
    pub const ALL: [Component; 5] = [
        Component::Weights,
        Component::Kv,
        Component::Compute,
        Component::Output,
        Component::Overhead,
    ];

    /// The name messages and JSON print.
    pub fn as_str(self) -> &'static str {
        match self {
            Component::Weights => "weights",
            Component::Kv => "kv",
            Component::Compute => "compute",
            Component::Output => "output",
            Component::Overhead => "overhead",
        }
    }

    /// MiB of this component on `d`.
    pub fn mib(self, d: &DevicePlan) -> f64 {
        match self {
            Component::Weights => d.weights_mib + d.weights_repack_mib,
            Component::Kv => d.kv_mib + d.recurrent_mib,
            Component::Compute => d.compute_mib,
            Component::Output => d.output_mib,
            Component::Overhead => d.overhead_mib,
        }
    }

    /// The largest of `among` on `d`, with its MiB (the first on a tie).
    pub fn largest(d: &DevicePlan, among: &[Component]) -> (Component, f64) {
        among
            .iter()
            .map(|&c| (c, c.mib(d)))
            .fold((Component::Weights, f64::MIN), |a, b| {
                if b.1 > a.1 { b } else { a }
            })
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Component {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
