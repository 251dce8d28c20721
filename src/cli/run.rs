use std::path::{Path, PathBuf};

use crate::run::{RunError, RunOutcome, RunRequest, Smart, Target, run as run_verb};

#[derive(clap::Args)]
#[command(
    after_help = "Precedence: the flags after -- > the advisor's values > the static plan. \
        --smart-run asks the OpenAI-compatible endpoint of profilec.toml [llm] (docs/run.md); \
        every run is appended to .profilec/runs.jsonl."
)]
pub struct Args {
    /// Profile id (or --model PATH instead).
    #[arg(
        add = super::profile_id_candidates(),
        required_unless_present = "model",
        conflicts_with = "model"
    )]
    id: Option<String>,
    /// The models.conf (default: the nearest one here or above).
    file: Option<PathBuf>,
    /// A model file (GGUF: llama.cpp) or Hugging Face directory (vLLM) to run without a profile.
    #[arg(long, value_name = "PATH")]
    model: Option<PathBuf>,
    /// With --model: print `optimize`'s recommendation JSON and launch nothing.
    #[arg(long, requires = "model")]
    optimize: bool,
    /// Ask the [llm] advisor of profilec.toml for tuning advice (validated, clamped, re-planned).
    #[arg(long)]
    smart_run: bool,
    /// Print where every value came from (`source=llm|static|user reason=…`) on stderr.
    #[arg(long)]
    smart_run_debug: bool,
    /// Fail instead of falling back to the static plan when no usable advice comes back.
    #[arg(long, requires = "smart_run")]
    smart_run_strict: bool,
    /// Choose -b/-ub: the largest physical batch whose compute buffers fit every device.
    #[arg(long)]
    auto_batch: bool,
    /// With --auto-batch: a short llama-bench sweep of the sizes that fit; the fastest is kept.
    #[arg(long, requires = "auto_batch")]
    measure: bool,
    #[command(flatten)]
    launch: super::start::LaunchArgs,
    /// llama-server flags that beat the advice and the static plan.
    #[arg(
        last = true,
        value_name = "LLAMA_SERVER_ARGS",
        allow_hyphen_values = true
    )]
    user_args: Vec<String>,
}

pub fn run(args: Args) -> i32 {
    if args.optimize {
        let Some(model) = &args.model else {
            return super::usage(
                "usage::run-optimize-needs-model",
                "--optimize needs --model",
                "run --model FILE --optimize",
            );
        };
        return super::optimize::recommend(model, args.launch.hardware.as_deref());
    }
    let target = match (&args.model, &args.id) {
        (Some(m), _) => Target::Model(m.clone()),
        (None, Some(id)) => match super::conf_file(args.file.clone()) {
            Ok(conf) => Target::Profile {
                id: id.clone(),
                conf,
            },
            Err(code) => return code,
        },
        (None, None) => {
            return super::usage(
                "usage::run-needs-target",
                "no profile id or --model",
                "profilec run ID [FILE], or profilec run --model PATH",
            );
        }
    };
    if let Target::Profile { conf, .. } = &target {
        super::flags::follow_for_conf(conf, args.launch.hardware.as_deref());
    }
    let req = RunRequest {
        target,
        hardware: args.launch.hardware.clone(),
        user_args: args.user_args.clone(),
        smart: if args.smart_run {
            Smart::On {
                strict: args.smart_run_strict,
            }
        } else {
            Smart::Off
        },
        auto_batch: args.auto_batch,
        measure: args.measure,
        dry_run: args.launch.dry_run,
    };
    let out = match run_verb(&req) {
        Ok(out) => out,
        Err(e) => return report_error(&e, args.smart_run_debug),
    };
    report(&out, args.smart_run_debug);
    let name = out.id.clone().unwrap_or_else(|| model_name(&out));
    let conf = out
        .conf_path
        .clone()
        // A model run records beside the current directory, as its `.profilec/` is there.
        .unwrap_or_else(|| out.state_dir.with_file_name("models.conf"));
    super::start::launch_resolved(
        &out.resolved,
        &out.hardware,
        &super::start::Recorded {
            conf: &conf,
            name: &name,
            state_dir: &out.state_dir,
        },
        &args.launch,
    )
}

fn model_name(out: &RunOutcome) -> String {
    out.resolved
        .model_path
        .as_deref()
        .and_then(Path::file_stem)
        .map_or_else(|| "model".into(), |s| s.to_string_lossy().into_owned())
}

/// The debug lines (one per decision), the fallback warning, the memory verdict.
fn report(out: &RunOutcome, debug: bool) {
    if let Some(s) = &out.smart {
        if debug {
            let mut line = format!(
                "smart-run: source={} model={} endpoint={}",
                s.source.as_str(),
                s.model,
                s.endpoint
            );
            if let Some(r) = &s.reply {
                line.push_str(&format!(
                    " response_id={} created={} answered_by={}",
                    r.id.as_deref().unwrap_or("-"),
                    r.created.map_or("-".into(), |c| c.to_string()),
                    r.model.as_deref().unwrap_or("-"),
                ));
            }
            eprintln!("{line} reason={}", s.reason);
            if let Some(why) = s.advice.as_ref().and_then(|a| a.reason.as_deref()) {
                eprintln!("smart-run: advisor says: {why}");
            }
        } else if s.error.is_some() {
            eprintln!(
                "warning: --smart-run fell back to the static plan: {}",
                s.reason
            );
        }
    } else if debug {
        eprintln!("smart-run: source=static reason=--smart-run not given: the static plan is used");
    }
    if debug {
        for d in &out.decisions {
            eprintln!(
                "smart-run: source={} field={} value={} reason={}",
                d.source.as_str(),
                d.flag,
                d.value.as_deref().unwrap_or("(default)"),
                d.reason
            );
        }
        match &out.trace {
            Ok(p) => eprintln!("smart-run: trace appended to {}", p.display()),
            Err(e) => eprintln!("smart-run: trace not written: {e}"),
        }
    } else if let Err(e) = &out.trace {
        eprintln!("warning: trace not written: {e}");
    }
    if let Err(why) = &out.fits {
        eprintln!(
            "warning: the launch {why} by profilec's memory plan (`profilec plan` shows every device)"
        );
    }
}

fn report_error(e: &RunError, debug: bool) -> i32 {
    if let RunError::ProfileErrors {
        id,
        file,
        source_text,
        profiles,
        diagnostics,
    } = e
    {
        super::report::print_human(
            &file.display().to_string(),
            source_text,
            diagnostics,
            *profiles,
        );
        eprintln!("not started: `[{id}]` has errors");
        return 1;
    }
    if debug && let RunError::Advice(a) = e {
        eprintln!(
            "smart-run: source=static reason={a} ({}); --smart-run-strict: nothing is launched",
            a.code()
        );
    }
    super::fail(e)
}
