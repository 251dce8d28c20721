//! What the check stage asks of parsed EXTRA_ARGS. Every `flag` argument may be any spelling
//! (`-ot`, `--override-tensor`, `--ctx_size`); an unknown spelling matches nothing.

use super::args::{ParsedArg, ParsedArgs};
use super::ot::OtRule;
use super::table;
use super::values::TypedValue;

/// llama.cpp `LLM_FFN_EXPS_REGEX`: the routed-expert tensors of a MoE block.
pub const FFN_EXPS_REGEX: &str = r"\.ffn_(up|down|gate|gate_up)_(ch|)exps";

impl ParsedArgs {
    fn of<'a>(&'a self, flag: &str) -> impl DoubleEndedIterator<Item = &'a ParsedArg> + 'a {
        let spec = table::lookup(flag);
        self.args
            .iter()
            .filter(move |a| spec.is_some_and(|s| std::ptr::eq(s, a.spec)))
    }

    /// Whether the flag appears at all (in any spelling, negated or not).
    pub fn has(&self, flag: &str) -> bool {
        self.of(flag).next().is_some()
    }

    /// The occurrence llama-server uses: the last one.
    pub fn last(&self, flag: &str) -> Option<&ParsedArg> {
        self.of(flag).next_back()
    }

    /// The text of the last occurrence's value.
    pub fn last_value(&self, flag: &str) -> Option<&str> {
        self.last(flag)?.value.as_ref().map(|v| v.text.as_str())
    }

    /// Every occurrence in order, for flags that accumulate (`-ot`, `--lora`).
    pub fn all(&self, flag: &str) -> Vec<&ParsedArg> {
        self.of(flag).collect()
    }

    /// The value texts of every occurrence in order.
    pub fn all_values(&self, flag: &str) -> Vec<&str> {
        self.of(flag)
            .filter_map(|a| a.value.as_ref().map(|v| v.text.as_str()))
            .collect()
    }

    /// For a switch: `Some(true)` if the last occurrence turns it on, `Some(false)` if it is a
    /// negation (`--no-context-shift`), `None` if absent.
    pub fn switch(&self, flag: &str) -> Option<bool> {
        self.last(flag).map(|a| !a.negated)
    }

    /// The whole override list llama.cpp builds, in argv order: `-ot` rules, plus the CPU
    /// rules `-cmoe` (all expert tensors) and `-ncmoe N` (experts of layers 0..N) push onto the
    /// same list. Their patterns are llama.cpp's `LLM_FFN_EXPS_REGEX` (common/common.h);
    /// their spans cover the flag and its value.
    pub fn tensor_overrides(&self) -> Vec<OtRule> {
        let mut out = Vec::new();
        for a in &self.args {
            match (a.spec.canonical, &a.typed) {
                (_, Some(TypedValue::TensorOverrides(r)))
                    if a.spec.canonical == "--override-tensor" =>
                {
                    out.extend(r.iter().cloned());
                }
                ("--cpu-moe", _) => {
                    out.extend(OtRule::implied_cpu(FFN_EXPS_REGEX.to_string(), a.span()))
                }
                ("--n-cpu-moe", Some(TypedValue::Int(n))) => {
                    // Bounded so a huge N cannot exhaust memory; no model has 4096 layers.
                    for layer in 0..(*n).clamp(0, 4096) {
                        let pattern = format!("blk\\.{layer}{FFN_EXPS_REGEX}");
                        out.extend(OtRule::implied_cpu(pattern, a.span()));
                    }
                }
                _ => {}
            }
        }
        out
    }

    /// All `-ot` rules in the order llama.cpp tries them (repeated flags append).
    pub fn ot_rules(&self) -> impl Iterator<Item = &OtRule> {
        self.of("--override-tensor").flat_map(|a| match &a.typed {
            Some(TypedValue::TensorOverrides(r)) => r.as_slice(),
            _ => &[],
        })
    }
}
