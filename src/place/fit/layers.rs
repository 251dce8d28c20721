//! Steps 3–4 of llama.cpp's fit (common/fit.cpp): dense layers back to front, then for MoE
//! models dense-only layers converted to full layers front to back with one overflowing layer
//! per device. The state is what fit keeps per device: a layer count and how many of those
//! layers are partial (experts elsewhere).

use serde::Serialize;

use crate::budget::{DeviceRef, PlanError};
use crate::config::GpuLayers;
use crate::flags::{BufferType, OtRule, generated_rules};
use crate::place::eval::{Evaluator, max_true};
use crate::resolve::RunOptions;

/// How much of a device's first partial layer stays on the device (fit's `layer_fraction_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Fraction {
    /// Attention only; the whole FFN overflows.
    Attn,
    /// Attention + up; gate and down overflow.
    Up,
    /// Attention + up + gate; down overflows.
    Gate,
    /// Dense part only; the routed experts go to the CPU.
    Moe,
}

impl Fraction {
    fn pattern(self, il: u32) -> String {
        match self {
            Fraction::Attn => format!(r"blk\.{il}\.ffn_(gate|up|gate_up|down).*"),
            Fraction::Up => format!(r"blk\.{il}\.ffn_(gate|gate_up|down).*"),
            Fraction::Gate => format!(r"blk\.{il}\.ffn_down.*"),
            Fraction::Moe => experts(il),
        }
    }
}

fn experts(il: u32) -> String {
    format!(r"blk\.{il}\.ffn_(up|down|gate_up|gate)_(ch|)exps")
}

/// One GPU's share: `n_layer` consecutive layer units, the last `n_part` of them partial.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Slot {
    pub n_layer: u32,
    pub n_part: u32,
    /// The first partial layer's fraction (`Moe` when it is dense-only like the rest).
    pub fraction: Fraction,
}

impl Default for Slot {
    fn default() -> Self {
        Slot {
            n_layer: 0,
            n_part: 0,
            fraction: Fraction::Moe,
        }
    }
}

/// The `-ot` rules fit's result implies (empty: no overrides).
/// `devs[id]` is the CUDA index of slot `id` (all GPUs, or the main GPU with `-sm none`).
pub fn overrides(slots: &[Slot], devs: &[usize], n_layer: u32) -> Vec<OtRule> {
    let ngl: u32 = slots.iter().map(|s| s.n_layer).sum();
    let mut il0 = (n_layer + 1).saturating_sub(ngl);
    let mut items = Vec::new();
    for (id, s) in slots.iter().enumerate() {
        let last = id + 1 == slots.len();
        let overflow = match devs.get(id + 1) {
            Some(&next) if !last => BufferType::cuda(next),
            _ => BufferType::Cpu,
        };
        // The output unit (last on the last GPU) has no experts: it is never partial, so the
        // partial layers are the `n_part` repeating layers before it.
        let end = (il0 + s.n_layer)
            .saturating_sub(u32::from(last))
            .min(n_layer);
        let first = end.saturating_sub(s.n_part).max(il0);
        for il in first..end {
            if il == first && s.fraction != Fraction::Moe {
                items.push((s.fraction.pattern(il), overflow.clone()));
            } else {
                items.push((experts(il), BufferType::Cpu));
            }
        }
        il0 += s.n_layer;
    }
    generated_rules(items)
}

/// The launch options fit's result sets: `-ngl Σ`, `-ts` layer counts, the overrides.
pub fn options(base: &RunOptions, slots: &[Slot], devs: &[usize], n_layer: u32) -> RunOptions {
    let mut o = base.clone();
    let ngl: u32 = slots.iter().map(|s| s.n_layer).sum();
    o.gpu_layers = GpuLayers::Count(ngl);
    // One device (`-sm none`): no split to give.
    o.tensor_split = if ngl == 0 || devs.len() < 2 {
        Vec::new()
    } else {
        let mut ts = vec![0.0; devs.iter().max().map_or(0, |m| m + 1)];
        for (s, &d) in slots.iter().zip(devs) {
            if let Some(x) = ts.get_mut(d) {
                *x = f64::from(s.n_layer);
            }
        }
        ts
    };
    o.overrides = overrides(slots, devs, n_layer);
    o
}

fn fits(
    eval: &Evaluator,
    base: &RunOptions,
    slots: &[Slot],
    devs: &[usize],
    id: usize,
) -> Result<bool, PlanError> {
    let n_layer = eval.facts.n_layer;
    let plan = eval.plan_options(&options(base, slots, devs, n_layer))?;
    let d = devs.get(id).copied().unwrap_or(id);
    Ok(eval.device_fits(&plan, DeviceRef::Gpu(d)))
}

/// Step 3: each GPU from the last to the first takes the most unassigned layers that keep it
/// within its target; for MoE every layer is dense-only (the output unit excepted).
pub fn fill_back_to_front(
    eval: &Evaluator,
    base: &RunOptions,
    devs: &[usize],
) -> Result<Vec<Slot>, PlanError> {
    let nd = devs.len();
    let units = eval.facts.n_layer + 1;
    let moe = eval.facts.experts.is_some();
    let mut slots = vec![Slot::default(); nd];
    for id in (0..nd).rev() {
        let assigned: u32 = slots.iter().skip(id + 1).map(|s| s.n_layer).sum();
        let unassigned = units.saturating_sub(assigned);
        let with = |n: u32| {
            let mut s = slots.clone();
            if let Some(x) = s.get_mut(id) {
                x.n_layer = n;
                x.n_part = match (moe, id + 1 == nd) {
                    (false, _) => 0,
                    (true, true) => n.saturating_sub(1),
                    (true, false) => n,
                };
            }
            s
        };
        let best = max_true(0, unassigned, |n| fits(eval, base, &with(n), devs, id))?;
        slots = with(best.unwrap_or(0));
    }
    Ok(slots)
}

/// Device `id` holding `k` full layers: first its own partial layers become full, then it takes
/// layers from the front of the following devices (the last keeps the output unit).
fn convert(slots: &[Slot], id: usize, k: u32) -> Vec<Slot> {
    let mut s = slots.to_vec();
    let Some(own) = s.get(id).copied() else {
        return s;
    };
    if k <= own.n_layer {
        if let Some(x) = s.get_mut(id) {
            x.n_part = own.n_layer - k;
        }
        return s;
    }
    let mut extra = k - own.n_layer;
    if let Some(x) = s.get_mut(id) {
        *x = Slot {
            n_layer: k,
            n_part: 0,
            fraction: Fraction::Moe,
        };
    }
    let nd = s.len();
    for (j, x) in s.iter_mut().enumerate().skip(id + 1) {
        let keep = u32::from(j + 1 == nd);
        let t = extra.min(x.n_layer.saturating_sub(keep));
        x.n_layer -= t;
        x.n_part = x.n_part.saturating_sub(t);
        extra -= t;
    }
    s
}

/// The most full layers device `id` can take.
fn max_full(slots: &[Slot], id: usize) -> u32 {
    let nd = slots.len();
    let own = slots.get(id).map_or(0, |s| s.n_layer);
    let later: u32 = slots
        .iter()
        .enumerate()
        .skip(id + 1)
        .map(|(j, s)| s.n_layer.saturating_sub(u32::from(j + 1 == nd)))
        .sum();
    own + later
}

/// Step 4: front to back, each GPU converts dense-only layers to full ones, then tries to hold
/// part of one more layer (UP, then GATE; ATTN when UP does not fit).
pub fn convert_front_to_back(
    eval: &Evaluator,
    base: &RunOptions,
    devs: &[usize],
    mut slots: Vec<Slot>,
) -> Result<Vec<Slot>, PlanError> {
    for id in 0..slots.len() {
        let Some(own) = slots.get(id).copied() else {
            break;
        };
        let lo = own.n_layer - own.n_part.min(own.n_layer);
        let hi = max_full(&slots, id);
        let Some(k) = max_true(lo, hi, |k| {
            fits(eval, base, &convert(&slots, id, k), devs, id)
        })?
        else {
            continue;
        };
        slots = convert(&slots, id, k);
        if k >= hi {
            continue;
        }
        let with = |f: Fraction| {
            let mut s = convert(&slots, id, k + 1);
            if let Some(x) = s.get_mut(id) {
                x.n_part = x.n_layer - k;
                x.fraction = f;
            }
            s
        };
        let pick = if fits(eval, base, &with(Fraction::Up), devs, id)? {
            if fits(eval, base, &with(Fraction::Gate), devs, id)? {
                Some(Fraction::Gate)
            } else {
                Some(Fraction::Up)
            }
        } else if fits(eval, base, &with(Fraction::Attn), devs, id)? {
            Some(Fraction::Attn)
        } else {
            None
        };
        if let Some(f) = pick {
            slots = with(f);
        }
    }
    Ok(slots)
}

/// The experts of every layer on the CPU: fit's dense-only measurement.
pub fn dense_only(base: &RunOptions) -> RunOptions {
    let mut o = base.clone();
    o.gpu_layers = GpuLayers::All;
    o.overrides = generated_rules([(
        r"blk\.\d+\.ffn_(up|down|gate_up|gate)_(ch|)exps".to_string(),
        BufferType::Cpu,
    )]);
    o
}
