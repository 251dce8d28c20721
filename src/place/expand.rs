//! Hand-written `-ot` rules expanded against a model's real tensor names: which rule places
//! each tensor (llama.cpp tries the rules in order and the first whose pattern is found in the
//! name wins), which layers each buffer type receives whole or in part, and how many bytes.
//! Layer SETS are compared, never pattern strings: `1[9]|2[0-7]` and `19|2[0-7]` are the same.

use std::collections::{BTreeMap, BTreeSet};

use crate::flags::{BufferType, OtRule};
use crate::gguf::{Tensor, TensorRole, tensor_layer, tensor_role};

/// Layers past the model's block count are probed up to here: `-ot` ranges copied from a larger
/// model rarely go further, and a pattern still matching at the last probe is treated as
/// open-ended (`blk\.[0-9]+\.`) rather than out of range.
const PROBE_LAYERS: u32 = 256;

/// What one buffer type receives. `buffer: None` collects the tensors no rule matches: they go
/// wherever the layer split (`-ngl`, `--tensor-split`) puts them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BufferUse {
    #[serde(serialize_with = "ser_buffer")]
    pub buffer: Option<BufferType>,
    /// Layers all of whose tensors land here.
    pub full_layers: BTreeSet<u32>,
    /// Layers only some of whose tensors land here (e.g. only the experts).
    pub partial_layers: BTreeSet<u32>,
    pub tensors: usize,
    pub bytes: u64,
}

impl BufferUse {
    /// Layers with at least one tensor here.
    pub fn layers(&self) -> BTreeSet<u32> {
        self.full_layers
            .union(&self.partial_layers)
            .copied()
            .collect()
    }
}

/// How one rule fared.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct RuleUse {
    /// Tensors whose name the pattern is found in.
    pub matched: usize,
    /// Tensors this rule places (it is the first match).
    pub won: usize,
    pub bytes: u64,
    /// Layers in which it places at least one tensor.
    pub layers: BTreeSet<u32>,
    /// Earlier rules that take tensors this rule matches: `(rule index, layers, example tensor)`.
    pub taken_by: Vec<(usize, BTreeSet<u32>, String)>,
    /// Layers at or past the block count whose tensor names the pattern would match.
    pub past_end: BTreeSet<u32>,
    /// The pattern matches layer names up to the last probe: an open-ended range.
    pub open_ended: bool,
    /// The pattern matches routed-expert tensor names (`blk.N.ffn_up_exps.weight`).
    pub targets_experts: bool,
}

/// The placement the rules produce on one model.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Expansion {
    pub n_layer: u32,
    /// The model has routed-expert tensors.
    pub has_experts: bool,
    /// One entry per buffer type that receives tensors; the no-rule entry first when present,
    /// then in order of the first rule naming the buffer type.
    pub buffers: Vec<BufferUse>,
    /// Parallel to the rules.
    pub rules: Vec<RuleUse>,
}

impl Expansion {
    pub fn buffer(&self, buffer: Option<BufferType>) -> Option<&BufferUse> {
        self.buffers.iter().find(|b| b.buffer == buffer)
    }

    /// Layers in which a device (not the CPU) receives at least one tensor, per device.
    pub fn device_layers(&self) -> Vec<(BufferType, BTreeSet<u32>)> {
        self.buffers
            .iter()
            .filter_map(|b| match &b.buffer {
                Some(d) if !d.is_cpu() => Some((d.clone(), b.layers())),
                _ => None,
            })
            .collect()
    }
}

fn ser_buffer<S: serde::Serializer>(b: &Option<BufferType>, s: S) -> Result<S::Ok, S::Error> {
    match b {
        Some(b) => s.serialize_str(&b.to_string()),
        None => s.serialize_str("layer split"),
    }
}

/// Applies `rules` to every tensor of the model. `n_layer` is the block count
/// (`ModelFacts::n_layer`); tensors of blocks at or past it are still placed but layers past
/// it are only probed.
pub fn expand(rules: &[OtRule], tensors: &[Tensor], n_layer: u32) -> Expansion {
    let mut uses: Vec<RuleUse> = vec![RuleUse::default(); rules.len()];
    let mut per_layer_total: BTreeMap<u32, usize> = BTreeMap::new();
    // (buffer, layer) -> tensors placed there
    let mut per_layer: BTreeMap<(usize, u32), usize> = BTreeMap::new();
    let mut order: Vec<Option<BufferType>> = Vec::new();
    let mut totals: Vec<(usize, u64)> = Vec::new();
    let mut has_experts = false;
    for t in tensors {
        has_experts |= tensor_role(&t.name) == TensorRole::RoutedExperts;
        let layer = tensor_layer(&t.name);
        let matching: Vec<usize> = (0..rules.len())
            .filter(|&i| rules.get(i).is_some_and(|r| r.matches(&t.name)))
            .collect();
        let winner = matching.first().copied();
        for &i in &matching {
            let Some(u) = uses.get_mut(i) else { continue };
            u.matched += 1;
            if Some(i) == winner {
                u.won += 1;
                u.bytes += t.n_bytes;
                u.layers.extend(layer);
            } else if let Some(w) = winner {
                match u.taken_by.iter_mut().find(|(k, _, _)| *k == w) {
                    Some(entry) => entry.1.extend(layer),
                    None => u
                        .taken_by
                        .push((w, layer.into_iter().collect(), t.name.clone())),
                }
            }
        }
        let buffer = winner.and_then(|w| rules.get(w)).map(|r| r.buffer.clone());
        let slot = match order.iter().position(|b| *b == buffer) {
            Some(s) => s,
            None => {
                order.push(buffer);
                totals.push((0, 0));
                order.len() - 1
            }
        };
        if let Some(tot) = totals.get_mut(slot) {
            tot.0 += 1;
            tot.1 += t.n_bytes;
        }
        if let Some(l) = layer {
            *per_layer_total.entry(l).or_default() += 1;
            *per_layer.entry((slot, l)).or_default() += 1;
        }
    }
    let mut buffers: Vec<BufferUse> = order
        .iter()
        .enumerate()
        .map(|(slot, buffer)| {
            let (mut full, mut partial) = (BTreeSet::new(), BTreeSet::new());
            for (&layer, &total) in &per_layer_total {
                match per_layer.get(&(slot, layer)) {
                    Some(&n) if n == total => {
                        full.insert(layer);
                    }
                    Some(_) => {
                        partial.insert(layer);
                    }
                    None => {}
                }
            }
            let (count, bytes) = totals.get(slot).copied().unwrap_or_default();
            BufferUse {
                buffer: buffer.clone(),
                full_layers: full,
                partial_layers: partial,
                tensors: count,
                bytes,
            }
        })
        .collect();
    buffers.sort_by_key(|b| b.buffer.is_some());
    probe(rules, tensors, n_layer, &mut uses);
    Expansion {
        n_layer,
        has_experts,
        buffers,
        rules: uses,
    }
}

/// Fills `past_end`, `open_ended` and `targets_experts` by matching each pattern against the
/// names the model's blocks would have at other layer numbers.
fn probe(rules: &[OtRule], tensors: &[Tensor], n_layer: u32, uses: &mut [RuleUse]) {
    let mut suffixes: BTreeSet<&str> = tensors
        .iter()
        .filter_map(|t| t.name.strip_prefix("blk.")?.split_once('.').map(|p| p.1))
        .collect();
    if suffixes.is_empty() {
        suffixes.insert("attn_q.weight");
    }
    const EXPERT_PROBES: [&str; 3] = [
        "ffn_up_exps.weight",
        "ffn_gate_exps.weight",
        "ffn_down_exps.weight",
    ];
    // The probe names are the same for every rule: built once, not once per rule (a file with
    // 20,000 `-ot` rules spent most of its check formatting them).
    let past_end: Vec<(u32, Vec<String>)> = (n_layer..PROBE_LAYERS)
        .map(|layer| {
            let names = suffixes
                .iter()
                .map(|s| format!("blk.{layer}.{s}"))
                .collect();
            (layer, names)
        })
        .collect();
    let experts: Vec<String> = (0..n_layer.max(1))
        .flat_map(|layer| {
            EXPERT_PROBES
                .iter()
                .map(move |s| format!("blk.{layer}.{s}"))
        })
        .collect();
    for (rule, u) in rules.iter().zip(uses.iter_mut()) {
        for (layer, names) in &past_end {
            if names.iter().any(|name| rule.matches(name)) {
                u.past_end.insert(*layer);
            }
        }
        u.open_ended = u.past_end.contains(&(PROBE_LAYERS - 1));
        // A pattern that only touches a letter of `exps` (`x=CUDA9`) is not about experts.
        u.targets_experts = experts.iter().any(|name| rule.covers(name, "exps"));
    }
}

/// `0-3, 7, 9-12`.
pub fn layer_runs(layers: &BTreeSet<u32>) -> String {
    let mut runs: Vec<(u32, u32)> = Vec::new();
    for &l in layers {
        match runs.last_mut() {
            Some((_, b)) if l == *b + 1 => *b = l,
            _ => runs.push((l, l)),
        }
    }
    runs.iter()
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}
