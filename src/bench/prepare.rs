//! Before anything starts: each profile is checked, rendered and preflighted on the same path
//! `profilec start` takes (src/cli/start.rs), so a profile that has errors — including
//! `budget::does-not-fit` — whose plan does not fit the machine (also on the CPU, where `check`
//! only warns about swap), or whose port is taken is refused up front.

use crate::budget::Program;
use crate::budget::render_human;
use crate::error::Failure;
use crate::launch::{LaunchSpec, find_llama_server, preflight};
use crate::project::open;
use crate::render::render;

use super::BenchRequest;
use super::error::BenchError;

/// One profile to measure.
#[derive(Debug, Clone)]
pub struct Target {
    /// The production profile the results are reported against.
    pub id: String,
    /// The profile that runs: `bench-<id>` when the file has that twin, else `id`.
    pub ran: String,
    /// Program and arguments as launched (what the scoreboard hashes).
    pub argv: Vec<String>,
    /// `None` when attached to `--url`.
    pub spec: Option<LaunchSpec>,
    pub base_url: String,
}

/// Validates every requested profile; the first refusal wins, nothing is launched.
pub fn prepare(req: &BenchRequest) -> Result<Vec<Target>, BenchError> {
    if req.ids.is_empty() {
        return Err(BenchError::Refused {
            id: String::new(),
            reason: "no profile ids given".into(),
        });
    }
    if let Some(url) = &req.url {
        return attach(req, url);
    }
    let mut project =
        open(&req.conf, req.hardware.as_deref()).map_err(|e| BenchError::Refused {
            id: req.ids.join(","),
            reason: format!("{e} ({})", e.help()),
        })?;
    let mut targets = Vec::new();
    for id in &req.ids {
        let refuse = |reason: String| BenchError::Refused {
            id: id.clone(),
            reason,
        };
        let twin = format!("bench-{id}");
        let production = project
            .profile(id)
            .map_err(|e| refuse(format!("{e}; {}", e.help())))?;
        let profile = project.profile(&twin).unwrap_or(production);
        let ran = profile.id.value.clone();
        let errors = project.errors_for(profile);
        if !errors.is_empty() {
            let lines: Vec<String> = errors
                .iter()
                .map(|d| {
                    let help = d
                        .help
                        .as_deref()
                        .map(|h| format!(" — {h}"))
                        .unwrap_or_default();
                    format!("{}: {}{help}", d.code, d.message)
                })
                .collect();
            return Err(refuse(format!(
                "`[{ran}]` has errors:\n  {}",
                lines.join("\n  ")
            )));
        }
        let resolved = project
            .resolve(&ran, Program::LlamaServer)
            .map_err(|e| refuse(format!("{e}; {}", e.help())))?;
        if resolved.runtime == crate::config::Runtime::Vllm {
            return Err(refuse(format!(
                "`[{ran}]` is a vLLM profile: bench measures llama-server launches only (vLLM needs a GPU; docs/vllm.md)"
            )));
        }
        if let Some(e) = resolved.launch_blocker() {
            return Err(refuse(format!("{e} ({})", e.help())));
        }
        if let Ok(plan) = resolved.plan()
            && !plan.fits
        {
            let reasons: Vec<String> = render_human(&plan)
                .lines()
                .filter(|l| l.starts_with("does not fit"))
                .map(str::to_owned)
                .collect();
            return Err(refuse(format!(
                "the plan says `[{ran}]` does not fit this machine:\n  {}",
                reasons.join("\n  ")
            )));
        }
        let configured = &project.hardware.runtime.llama_server;
        let rendered = render(configured, &resolved.effective);
        let program = find_llama_server(Some(configured))
            .map_err(|e| refuse(format!("{e} ({})", e.help())))?;
        let spec = LaunchSpec::from_argv(program, rendered.argv.clone())
            .map_err(|e| refuse(format!("{e} ({})", e.help())))?;
        preflight(&spec).map_err(|e| refuse(format!("{e} ({})", e.help())))?;
        let argv = std::iter::once(spec.program.display().to_string())
            .chain(spec.args.iter().cloned())
            .collect();
        targets.push(Target {
            id: id.clone(),
            ran,
            argv,
            base_url: spec.base_url(),
            spec: Some(spec),
        });
    }
    Ok(targets)
}

fn attach(req: &BenchRequest, url: &str) -> Result<Vec<Target>, BenchError> {
    let base = url.trim_end_matches('/');
    if !base.starts_with("http://") {
        return Err(BenchError::Url(
            url.to_owned(),
            "only http:// is supported (profilec talks to a local llama-server)".into(),
        ));
    }
    if req.ids.len() != 1 {
        return Err(BenchError::Url(
            url.to_owned(),
            "give exactly one id: it labels the server's results".into(),
        ));
    }
    let id = req.ids.first().cloned().unwrap_or_default();
    Ok(vec![Target {
        ran: id.clone(),
        id,
        argv: vec![base.to_owned()],
        spec: None,
        base_url: base.to_owned(),
    }])
}

/// FNV-1a 64 over the argv words (NUL-separated): stable across Rust versions and machines, so
/// the scoreboard keeps its rows; a changed argument is a new row.
pub fn argv_hash(argv: &[String]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for word in argv {
        for b in word.bytes().chain(std::iter::once(0)) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    format!("{h:016x}")
}
