//! Rules that need the model file AND the machine (profilec.toml beside the conf, or given):
//! the memory model (docs/memory-model.md) and the fit prediction (docs/placement.md) on each
//! profile. Each profile is judged as a [`ResolvedProfile`] — the value `plan`, `render` and
//! `start` use, with a STRATEGY's placement applied — so `check` holds to its budget the argv
//! that launches. Without a model file or a machine, nothing here runs, so the corpus and CI (no
//! model files) pay nothing.

use std::ops::Range;
use std::path::Path;

use super::Extra;
use super::model_rules::model_path;
use crate::budget::{Component, DeviceRef, Plan, PlanError, Program};
use crate::config::{Conf, GpuLayers, Profile, Strategy};
use crate::diag::Diagnostic;
use crate::flags::{BufferType, place};
use crate::gguf::{Model, ModelCache, ModelFacts};
use crate::hardware::{Hardware, Machine};
use crate::place::eval::{Evaluator, margins};
use crate::place::fit::{self, FitError, RamCheck};
use crate::place::solver::solve;
use crate::profile::ResolvedProfile;
use crate::resolve::{RunOptions, SplitMode};

pub fn check(
    conf: &Conf,
    extra: &[Option<Extra>],
    models_dir: Option<&Path>,
    hw: Option<&Hardware>,
    models: &mut ModelCache,
    out: &mut Vec<Diagnostic>,
) {
    let (Some(dir), Some(hw)) = (models_dir, hw) else {
        return;
    };
    for (p, e) in conf.profiles.iter().zip(extra) {
        if p.model
            .as_ref()
            .and_then(|m| model_path(dir, &m.value))
            .is_none()
        {
            continue;
        }
        // A value of the wrong type is `args::invalid-value`; nothing to plan.
        let Ok(resolved) = ResolvedProfile::of_profile_in(p, hw, dir, Program::LlamaServer, models)
        else {
            continue;
        };
        let (Some(Ok(loaded)), Some(path)) = (&resolved.model, &resolved.model_path) else {
            continue;
        };
        let ctx = Ctx {
            p,
            model: &loaded.model,
            facts: &loaded.facts,
            path,
            machine: &resolved.machine,
            opts: &resolved.options,
            args: e.as_ref(),
            strategy: match &resolved.pinned {
                Some(Ok(placement)) => Some(placement.strategy),
                _ => None,
            },
        };
        ctx.unknown_device(out);
        match ctx.budget(out) {
            Ok(()) => ctx.experts_on_cpu(out),
            Err(e) => super::plan_refusal::report(conf, p, &resolved.effective, &e, out),
        }
    }
}

struct Ctx<'a> {
    p: &'a Profile,
    model: &'a Model,
    facts: &'a ModelFacts,
    path: &'a Path,
    machine: &'a Machine,
    opts: &'a RunOptions,
    /// EXTRA_ARGS parsed once for the whole check.
    args: Option<&'a Extra>,
    /// The STRATEGY whose placement `opts` carry (the solver's flags replaced the profile's).
    strategy: Option<Strategy>,
}

/// One GPU over capacity − `--fit-target`.
struct Over {
    /// The printed name (`CUDA0`).
    name: String,
    device: DeviceRef,
    total: f64,
    budget: f64,
    largest: Component,
    largest_mib: f64,
}

impl Ctx<'_> {
    fn eval(&self) -> Evaluator<'_> {
        Evaluator {
            model: self.model,
            facts: self.facts,
            path: self.path,
            machine: self.machine,
            program: Program::LlamaServer,
            margins: margins(&self.opts.fit_target, self.machine.gpus.len()),
            base: self.opts.clone(),
        }
    }

    fn flag_span(&self, flags: &[&str]) -> Option<Range<usize>> {
        let args = self.args?;
        flags.iter().find_map(|f| args.span_of(f))
    }

    fn model_span(&self) -> Range<usize> {
        self.p
            .model
            .as_ref()
            .map_or(self.p.id.span.clone(), |m| m.span.clone())
    }

    /// Where a fix goes: the context for KV, else MODEL.
    fn span_for(&self, largest: Component) -> Range<usize> {
        if largest == Component::Kv {
            if let Some(s) = self.flag_span(&["--ctx-size"]) {
                return s;
            }
            if let Some(c) = &self.p.ctx_size {
                return c.span.clone();
            }
        }
        self.model_span()
    }

    fn unknown_device(&self, out: &mut Vec<Diagnostic>) {
        let Some(args) = self.args else {
            return;
        };
        let offset = args.span.start;
        let rules = args.parsed.tensor_overrides();
        if rules.is_empty() {
            return;
        }
        let gpus = self.machine.gpu_buffer_types();
        let exp = crate::place::expand(&rules, &self.model.tensors, self.facts.n_layer);
        out.extend(
            crate::place::lint(&rules, &exp, Some(&gpus))
                .into_iter()
                .filter(|d| d.code == "place::unknown-device")
                .map(|d| d.shifted(offset)),
        );
    }

    /// The budget errors and warnings; the plan's refusal when the memory model cannot plan the
    /// launch at all.
    fn budget(&self, out: &mut Vec<Diagnostic>) -> Result<(), PlanError> {
        let eval = self.eval();
        if self.opts.fit {
            self.split_none_under_fit(&eval, out);
            let pred = match fit::predict(
                self.model,
                self.facts,
                self.path,
                self.opts,
                self.machine,
                Program::LlamaServer,
            ) {
                Ok(pred) => pred,
                Err(FitError::Plan(e)) => return Err(e),
                Err(FitError::Off) => return Ok(()),
            };
            if !pred.fits {
                let overs = overruns(&eval, &pred.plan);
                let why = match &pred.disabled_by {
                    Some(d) => format!("fit will not move layers ({d})"),
                    None => "even fit's placement (all layers it can move) is short".into(),
                };
                self.report_overruns(&overs, &why, out);
            }
            self.swap(&pred.ram, out);
            return Ok(());
        }
        let plan = eval.plan_options(self.opts)?;
        let why = match self.strategy {
            Some(s) => format!("STRATEGY {} pins placement", s.as_str()),
            None => "the profile pins placement (FIT=off)".into(),
        };
        self.report_overruns(&overruns(&eval, &plan), &why, out);
        if let Ok(ram) = fit::ram_check(&eval, self.opts, &plan) {
            self.swap(&ram, out);
        }
        Ok(())
    }

    /// fit keeps a `-sm none` model on the main GPU by moving layers to the CPU while the other
    /// GPUs idle: judged on the all-layers plan.
    fn split_none_under_fit(&self, eval: &Evaluator, out: &mut Vec<Diagnostic>) {
        if self.opts.split_mode != SplitMode::None || self.machine.gpus.len() < 2 {
            return;
        }
        let mut all = self.opts.clone();
        if all.gpu_layers == GpuLayers::Auto {
            all.gpu_layers = GpuLayers::All;
        }
        let Ok(plan) = eval.plan_options(&all) else {
            return;
        };
        let main = self.main_gpu();
        let overs: Vec<Over> = overruns(eval, &plan)
            .into_iter()
            .filter(|o| o.device == main)
            .collect();
        self.report_overruns(
            &overs,
            "--fit would keep it there by moving layers to the CPU while the other GPUs idle",
            out,
        );
    }

    /// `--main-gpu`: an index into llama.cpp's device list, as the machine's GPUs are.
    fn main_gpu(&self) -> DeviceRef {
        DeviceRef::Gpu(usize::try_from(self.opts.main_gpu).unwrap_or(usize::MAX))
    }

    fn report_overruns(&self, overs: &[Over], why: &str, out: &mut Vec<Diagnostic>) {
        for o in overs {
            let over = o.total - o.budget;
            if self.opts.split_mode == SplitMode::None && o.device == self.main_gpu() {
                let main = &o.name;
                let at = self
                    .flag_span(&["--split-mode"])
                    .unwrap_or_else(|| self.model_span());
                out.push(
                    Diagnostic::error(
                        "budget::split-none-too-big",
                        format!(
                            "`--split-mode none` keeps the whole model on {main}, which needs {:.0} MiB against a budget of {:.0} MiB ({over:.0} MiB over; the largest part is {} at {:.0} MiB); {why}",
                            o.total, o.budget, o.largest, o.largest_mib
                        ),
                    )
                    .at(at)
                    .label(format!("{over:.0} MiB over on {main}"))
                    .help("split over the GPUs instead: drop `--split-mode none` and let --fit place the layers, or pin a split (`profilec plan` shows strategy B/C/D)"),
                );
                continue;
            }
            out.push(
                Diagnostic::error(
                    "budget::does-not-fit",
                    format!(
                        "{} needs {:.0} MiB but its budget is {:.0} MiB (capacity − --fit-target): {over:.0} MiB over, the largest part is {} at {:.0} MiB; {why}",
                        o.name, o.total, o.budget, o.largest, o.largest_mib
                    ),
                )
                .at(self.span_for(o.largest))
                .label(format!("{over:.0} MiB over on {}", o.name))
                .help(help_for(o.largest)),
            );
        }
    }

    fn swap(&self, ram: &RamCheck, out: &mut Vec<Diagnostic>) {
        let over = ram.swap_risk_mib();
        if over <= 0.0 {
            return;
        }
        let what = if ram.over_mib > 0.0 {
            format!(
                "CPU-resident weights {:.0} + KV {:.0} + compute {:.0} MiB",
                ram.weights_mib, ram.kv_mib, ram.compute_mib
            )
        } else {
            format!(
                "the mmap'd model file in page cache with KV and compute ({:.0} MiB; resident alone fits)",
                ram.mapped_total_mib
            )
        };
        out.push(
            Diagnostic::warning(
                "budget::swap-risk",
                format!(
                    "swap risk: {over:.0} MiB over RAM: {what} + OS reserve {} MiB against {} MiB RAM",
                    ram.os_reserve_mib, ram.ram_mib
                ),
            )
            .at(self.model_span())
            .label(format!("{over:.0} MiB more than RAM holds"))
            .help("a smaller quant, or a smaller context so more of the model fits the GPUs; llama.cpp's --fit does not check host memory"),
        );
    }

    fn experts_on_cpu(&self, out: &mut Vec<Diagnostic>) {
        // Under a STRATEGY the solver chose where the experts go; the profile's rules are gone.
        if self.strategy.is_some() || self.facts.experts.is_none() || self.machine.gpus.is_empty() {
            return;
        }
        let on_cpu = self
            .model
            .tensors
            .iter()
            .filter(|t| t.name.contains("_exps"))
            .any(|t| {
                place(&self.opts.overrides, &t.name).is_some_and(|r| r.buffer == BufferType::Cpu)
            });
        if !on_cpu {
            return;
        }
        let Some(at) = self.flag_span(&["--override-tensor", "--cpu-moe", "--n-cpu-moe"]) else {
            return;
        };
        let Ok(c) = solve(
            self.model,
            self.facts,
            self.path,
            self.opts,
            self.machine,
            Program::LlamaServer,
            Strategy::C,
        ) else {
            return;
        };
        out.push(
            Diagnostic::warning(
                "budget::experts-fit-gpu",
                "this profile sends routed experts to the CPU, but every layer with its experts fits on the GPUs",
            )
            .at(at)
            .label("experts on the CPU run at RAM speed")
            .help(format!(
                "strategy C keeps them on the GPUs: {} (or drop the rule and leave placement to --fit)",
                c.flags.join(" ")
            )),
        );
    }
}

fn help_for(largest: Component) -> &'static str {
    match largest {
        Component::Kv => "a smaller context (-c) or a quantized KV cache (-ctk q8_0 -ctv q8_0)",
        Component::Compute => "a smaller micro-batch (-ub): the compute buffer scales with it",
        _ => "fewer layers on this GPU (-ngl/-ts, or -ot …=CPU), a smaller quant, or --fit on",
    }
}

fn overruns(eval: &Evaluator, plan: &Plan) -> Vec<Over> {
    plan.gpus()
        .filter(|d| d.total_mib > eval.budget(d))
        .map(|d| {
            // The parts a profile's flags shrink, each with its help (`help_for`).
            let (largest, largest_mib) =
                Component::largest(d, &[Component::Weights, Component::Kv, Component::Compute]);
            Over {
                name: d.name.clone(),
                device: d.device,
                total: d.total_mib,
                budget: eval.budget(d),
                largest,
                largest_mib,
            }
        })
        .collect()
}
