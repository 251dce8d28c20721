//! `run`: one command from a profile or a model to the launch (docs/run.md). The static
//! baseline is what `start` would run (a profile) or `optimize`'s recommendation (a model);
//! `--auto-batch` searches the batch sizes by the memory model (`--measure`: and llama-bench); `--smart-run` asks an
//! OpenAI-compatible advisor (`[llm]` of profilec.toml) with a JSON schema of allowlisted
//! fields, validates and clamps the answer, and merges it field by field under the precedence
//! user flags > advice > static, planning every merged value again. Every decision is appended
//! to `.profilec/runs.jsonl`. Launching is the caller's: the result's argv is `start`'s.

mod advice;
mod advisor;
mod baseline;
mod measure;
mod merge;
mod prompt;
mod schema;
mod trace;

use std::path::PathBuf;

use serde::Serialize;

pub use advice::{Advice, Advised};
pub use advisor::{AdviceError, Reply};
pub use merge::{Decision, Source};
pub use schema::{Field, Kind, ModelLimits, fields, response_format, schema};

use crate::config::Runtime;
use crate::diag::Diagnostic;
use crate::error::Failure;
use crate::hardware::{Hardware, LoadError};
use crate::optimize::OptimizeError;
use crate::project::{ProjectError, ResolvedProfile};
use crate::resolve::OptionError;

/// What to run.
#[derive(Debug, Clone)]
pub enum Target {
    /// `run ID [FILE]`.
    Profile { id: String, conf: PathBuf },
    /// `run --model PATH`: a GGUF file (llama.cpp) or a Hugging Face directory (vLLM).
    Model(PathBuf),
}

/// `--smart-run` and its strictness.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Smart {
    Off,
    /// Ask the advisor; `strict`: no usable advice fails the run instead of falling back.
    On {
        strict: bool,
    },
}

#[derive(Debug, Clone)]
pub struct RunRequest {
    pub target: Target,
    /// `--hardware` (default: profilec.toml beside the models.conf, else detection).
    pub hardware: Option<PathBuf>,
    /// The llama-server flags after `--`: they beat advice and the static plan.
    pub user_args: Vec<String>,
    pub smart: Smart,
    pub auto_batch: bool,
    /// With `auto_batch`: confirm with a short llama-bench sweep, keep the fastest that fits.
    pub measure: bool,
    /// Recorded in the trace.
    pub dry_run: bool,
}

/// The advisor's part of a run.
#[derive(Debug, Clone, Serialize)]
pub struct SmartOutcome {
    /// `llm` when valid advice was received and merged; `static` on the fallback path.
    pub source: Source,
    /// `[llm] model` as configured.
    pub model: String,
    pub endpoint: String,
    pub reply: Option<Reply>,
    pub advice: Option<Advice>,
    pub error: Option<AdviceError>,
    /// One line: why this source.
    pub reason: String,
}

/// Everything a run decided, ready to print or launch.
#[derive(Debug)]
pub struct RunOutcome {
    pub id: Option<String>,
    pub conf_path: Option<PathBuf>,
    pub hardware: Hardware,
    /// The merged launch; its argv is what `start` runs.
    pub resolved: ResolvedProfile,
    pub baseline_argv: Vec<String>,
    /// Where the static settings came from.
    pub rationale: Vec<String>,
    pub smart: Option<SmartOutcome>,
    pub decisions: Vec<Decision>,
    /// The merged launch's memory verdict (`Err`: which device is over).
    pub fits: Result<(), String>,
    /// Where `.profilec/` (the trace, the server logs) lives.
    pub state_dir: PathBuf,
    /// The trace row's file, or why it could not be written.
    pub trace: Result<PathBuf, String>,
}

impl RunOutcome {
    /// The arguments after the program name.
    pub fn argv(&self) -> Vec<String> {
        self.resolved.argv()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Project(#[from] ProjectError),
    #[error(transparent)]
    HardwareFile(#[from] LoadError),
    #[error("profilec.toml has errors: {0}")]
    Hardware(String),
    #[error(transparent)]
    Optimize(#[from] OptimizeError),
    #[error("`[{id}]` has errors")]
    ProfileErrors {
        id: String,
        file: PathBuf,
        source_text: String,
        profiles: usize,
        diagnostics: Vec<Diagnostic>,
    },
    #[error("not started: `[{id}]`: {why}")]
    Blocked {
        id: String,
        why: String,
        help: String,
    },
    #[error("{what}: {error}")]
    Options {
        what: String,
        #[source]
        error: OptionError,
    },
    #[error("the flags after -- are not valid llama-server flags: {0}")]
    UserArgs(String),
    #[error("{0} is a Hugging Face model directory (safetensors): `run --model` takes a GGUF file")]
    VllmNotSupported(PathBuf),
    /// A vLLM profile asked for tuning that is llama.cpp's.
    #[error("`[{id}]` is a vLLM profile: {what} tune llama-server launches only")]
    VllmTuning { id: String, what: String },
    #[error(
        "{0} is a directory but not a Hugging Face model (no readable config.json and safetensors)"
    )]
    UnknownModel(PathBuf),
    /// `--smart-run-strict` and no usable advice.
    #[error("--smart-run-strict: {0}")]
    Advice(AdviceError),
}

impl Failure for RunError {
    /// A stable code (`run::…`).
    fn code(&self) -> &'static str {
        match self {
            RunError::Project(_) | RunError::HardwareFile(_) | RunError::Hardware(_) => {
                "run::input"
            }
            RunError::Optimize(_) => "run::model",
            RunError::ProfileErrors { .. } => "run::profile-errors",
            RunError::Blocked { .. } => "run::strategy",
            RunError::Options { .. } | RunError::UserArgs(_) => "run::flags",
            RunError::VllmNotSupported(_) => "run::vllm-not-supported",
            RunError::VllmTuning { .. } => "run::vllm-tuning",
            RunError::UnknownModel(_) => "run::unknown-model",
            RunError::Advice(e) => e.code(),
        }
    }

    fn help(&self) -> String {
        match self {
            RunError::Project(e) => e.help(),
            RunError::HardwareFile(e) => e.help(),
            RunError::Hardware(_) => "`profilec hw` lists the file's problems".into(),
            RunError::Optimize(e) => e.help(),
            RunError::ProfileErrors { .. } => "fix the errors above (`profilec check`)".into(),
            RunError::Blocked { help, .. } => help.clone(),
            RunError::Options { error, .. } => error.help(),
            RunError::UserArgs(_) => "`profilec flags` lists the options of your llama-server build; pass them after `--` exactly as llama-server takes them".into(),
            RunError::VllmNotSupported(dir) => format!(
                "write a profile with MODEL={} (a vLLM profile, docs/vllm.md) and `profilec run ID`; `profilec plan --model {}` shows vLLM's memory plan",
                dir.display(),
                dir.display()
            ),
            RunError::VllmTuning { .. } => "run it without them (it launches as `start` does), and put vLLM flags in the profile's EXTRA_ARGS, where `profilec check` validates them against vLLM's flag table".into(),
            RunError::UnknownModel(_) => "pass a .gguf file, or a directory with config.json and *.safetensors".into(),
            RunError::Advice(e) => e.help(),
        }
    }

    /// 2 usage and I/O, 1 a problem with the input or the advice under strict.
    fn exit_code(&self) -> i32 {
        match self {
            RunError::Project(e) => e.exit_code(),
            RunError::Optimize(e) => e.exit_code(),
            RunError::HardwareFile(_) | RunError::UserArgs(_) => 2,
            _ => 1,
        }
    }
}

/// Resolves, tunes and records one run; nothing is launched.
pub fn run(req: &RunRequest) -> Result<RunOutcome, RunError> {
    let base = baseline::resolve(&req.target, req.hardware.as_deref())?;
    if base.resolved.runtime == Runtime::Vllm {
        return vllm_run(req, base);
    }
    let user = baseline::user_flags(&req.user_args)?;
    let baseline_argv = base.resolved.argv();
    let mut resolved = baseline::apply_user(&base.resolved, &req.user_args)?;
    let mut decisions: Vec<Decision> = user_decisions(&resolved, &user);
    if req.auto_batch {
        let (r, d) = merge::auto_batch(resolved, &user, req.measure);
        resolved = r;
        decisions.extend(d);
    }
    let mut smart = None;
    let mut strict_failure = None;
    if let Smart::On { strict } = req.smart {
        let (outcome, merged, d) = advise(&resolved, &base.hardware, &user);
        if let (true, Some(e)) = (strict, &outcome.error) {
            strict_failure = Some(e.clone());
        }
        resolved = merged;
        decisions.extend(d);
        smart = Some(outcome);
    }
    let fits = merge::fit_verdict(&resolved);
    let mut out = RunOutcome {
        id: resolved.id.clone(),
        conf_path: base.conf_path,
        hardware: base.hardware,
        resolved,
        baseline_argv,
        rationale: base.rationale,
        smart,
        decisions,
        fits,
        state_dir: base.state_dir,
        trace: Err(String::new()),
    };
    out.trace = trace::append(&out, req, strict_failure.is_some());
    match strict_failure {
        Some(e) => Err(RunError::Advice(e)),
        None => Ok(out),
    }
}

/// A vLLM profile runs as `start` launches it: the advisor, `--auto-batch` and the flags after
/// `--` speak llama-server's options, so asking for them is an error rather than ignored.
fn vllm_run(req: &RunRequest, base: baseline::Baseline) -> Result<RunOutcome, RunError> {
    let mut asked = Vec::new();
    if req.smart != Smart::Off {
        asked.push("--smart-run");
    }
    if req.auto_batch {
        asked.push("--auto-batch");
    }
    if !req.user_args.is_empty() {
        asked.push("flags after --");
    }
    if !asked.is_empty() {
        return Err(RunError::VllmTuning {
            id: base.resolved.id.clone().unwrap_or_default(),
            what: asked.join(", "),
        });
    }
    let resolved = base.resolved;
    let fits = match &resolved.vllm {
        Some(v) => v
            .plan(&resolved.machine)
            .map(|_| ())
            .map_err(|e| format!("cannot start by vLLM's arithmetic: {e}")),
        None => Err("has no vLLM launch".into()),
    };
    let mut out = RunOutcome {
        id: resolved.id.clone(),
        conf_path: base.conf_path,
        hardware: base.hardware,
        baseline_argv: resolved.argv(),
        resolved,
        rationale: base.rationale,
        smart: None,
        decisions: Vec::new(),
        fits,
        state_dir: base.state_dir,
        trace: Err(String::new()),
    };
    out.trace = trace::append(&out, req, false);
    Ok(out)
}

/// One decision per flag the user gave: they win over everything.
fn user_decisions(r: &ResolvedProfile, user: &[&'static str]) -> Vec<Decision> {
    user.iter()
        .map(|flag| Decision {
            flag: (*flag).to_owned(),
            value: r.effective.value(flag).map(str::to_owned),
            source: Source::User,
            reason: "given after --".into(),
        })
        .collect()
}

/// Asks the advisor and merges its answer; on any failure the launch stays as it was.
fn advise(
    r: &ResolvedProfile,
    hw: &Hardware,
    user: &[&'static str],
) -> (SmartOutcome, ResolvedProfile, Vec<Decision>) {
    let n_ctx_train = r.loaded().map_or(0, |m| m.facts.n_ctx_train);
    let fields = schema::fields(ModelLimits { n_ctx_train }, hw.cpu.cores_logical);
    let schema = schema::schema(&fields);
    let format = schema::response_format(&schema);
    let message = prompt::user_message(r, &fields, user);
    let mut outcome = SmartOutcome {
        source: Source::Static,
        model: hw.llm.model.clone(),
        endpoint: advisor::endpoint(&hw.llm),
        reply: None,
        advice: None,
        error: None,
        reason: String::new(),
    };
    let request = advisor::Request {
        llm: &hw.llm,
        system: prompt::SYSTEM,
        user: &message,
        response_format: &format,
    };
    let parsed = advisor::ask(&request).and_then(|reply| {
        let advice = advice::parse(&reply.content, &fields);
        outcome.reply = Some(reply);
        advice
    });
    match parsed {
        Err(e) => {
            outcome.reason = format!("{} ({}); the static plan is used", e, e.code());
            outcome.error = Some(e);
            (outcome, r.clone(), Vec::new())
        }
        Ok(advice) => {
            let (merged, decisions) = merge::merge_advice(r.clone(), &advice, user);
            let taken = decisions.iter().filter(|d| d.source == Source::Llm).count();
            outcome.source = Source::Llm;
            outcome.reason = format!(
                "advice received and validated: {} field(s) advised, {taken} taken, {} rejected, {} kept by the user",
                advice.values.len(),
                decisions
                    .iter()
                    .filter(|d| d.source == Source::Static)
                    .count(),
                decisions
                    .iter()
                    .filter(|d| d.source == Source::User)
                    .count(),
            );
            outcome.advice = Some(advice);
            (outcome, merged, decisions)
        }
    }
}
