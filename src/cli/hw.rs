//! `profilec hw`: show the detected machine, or a declared profilec.toml with its diagnostics;
//! `--write` records the detected machine in profilec.toml.

use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use crate::diag::{self, Diagnostic, Severity};
use crate::hardware::{self, Hardware, Observed, WriteSummary};

#[derive(clap::Args)]
pub struct Args {
    /// Show this profilec.toml (and its problems) instead of detecting the machine.
    #[arg(long, value_name = "FILE", conflicts_with = "write")]
    hardware: Option<PathBuf>,
    /// Record the detected GPUs and CPU in FILE (default ./profilec.toml), keeping its comments.
    #[arg(long, value_name = "FILE", num_args = 0..=1, default_missing_value = hardware::FILE_NAME)]
    write: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
    /// Only say which profilec.toml `plan`, `render` and `start` use from here, and why.
    #[arg(long = "where", conflicts_with = "write")]
    where_used: bool,
    /// Ask these running llama.cpp rpc-servers (llama-server's --rpc syntax) for their devices
    /// and memory; with --write, record them as [[rpc]] entries instead of the local machine.
    #[arg(long, value_name = "HOST:PORT[,…]", conflicts_with_all = ["hardware", "where_used"])]
    rpc: Option<String>,
    /// Seconds each connect, send and receive to an rpc-server may take.
    #[arg(long, value_name = "SECS", default_value_t = 5.0, requires = "rpc")]
    rpc_timeout: f64,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum Format {
    Human,
    Json,
}

/// What one run shows, whichever way the machine was obtained.
struct Report<'a> {
    source: String,
    hardware: &'a Hardware,
    observed: Option<&'a Observed>,
    diagnostics: &'a [Diagnostic],
    text: Option<&'a str>,
    written: Option<WriteSummary>,
}

impl Args {
    pub(super) fn json(&self) -> bool {
        self.format == Format::Json
    }
}

pub fn run(args: Args) -> i32 {
    if let Some(list) = &args.rpc {
        return super::hw_rpc::run(list, args.rpc_timeout, args.write.as_deref(), args.format);
    }
    if args.where_used {
        return super::hw_where::run(args.hardware.as_deref(), args.format);
    }
    if let Some(path) = &args.hardware {
        return match hardware::load(path) {
            Ok(loaded) => show(
                &Report {
                    source: path.display().to_string(),
                    hardware: &loaded.hardware,
                    observed: None,
                    diagnostics: &loaded.diagnostics,
                    text: Some(&loaded.source),
                    written: None,
                },
                args.format,
            ),
            Err(e) => super::fail(&e),
        };
    }
    let base = match &args.write {
        Some(p) => parent_dir(p),
        None => PathBuf::from("."),
    };
    let detected = hardware::detect(&base);
    let written = match &args.write {
        Some(path) => match hardware::write_detected(path, &detected) {
            Ok(summary) => Some(summary),
            Err(e) => return super::fail(&e),
        },
        None => None,
    };
    show(
        &Report {
            source: "detected".to_owned(),
            hardware: &detected.hardware,
            observed: Some(&detected.observed),
            diagnostics: &detected.notes,
            text: None,
            written,
        },
        args.format,
    )
}

fn parent_dir(p: &Path) -> PathBuf {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    }
}

fn show(r: &Report, format: Format) -> i32 {
    match format {
        Format::Json => println!("{}", to_json(r)),
        Format::Human => {
            super::term::print_fitted(&human(r));
            super::report::print_diagnostics(&r.source, r.text.unwrap_or(""), r.diagnostics);
        }
    }
    i32::from(diag::count(r.diagnostics, Severity::Error) > 0)
}

fn to_json(r: &Report) -> Value {
    let diags: Vec<Value> = r
        .diagnostics
        .iter()
        .map(|d| {
            let pos = d
                .span
                .as_ref()
                .zip(r.text)
                .map(|(s, t)| diag::line_col(t, s.start));
            json!({
                "code": d.code,
                "severity": d.severity,
                "message": d.message,
                "span": d.span.as_ref().map(|s| [s.start, s.end]),
                "line": pos.map(|p| p.0),
                "column": pos.map(|p| p.1),
                "label": d.label,
                "help": d.help,
            })
        })
        .collect();
    json!({
        "source": r.source,
        "hardware": r.hardware,
        "machine": r.hardware.machine_with_all_rpc(),
        "observed": r.observed,
        "written": r.written,
        "diagnostics": diags,
    })
}

fn human(r: &Report) -> String {
    let hw = r.hardware;
    let m = hw.machine_with_all_rpc();
    let mut out = format!("hardware: {}\n", r.source);
    for (i, g) in m.gpus.iter().enumerate() {
        let display = if g.drives_display {
            ", drives the display"
        } else {
            ""
        };
        let free = r
            .observed
            .and_then(|o| o.gpu_free_mib.get(i))
            .map(|f| format!(", {f} free now"))
            .unwrap_or_default();
        out += &format!(
            "  {:<6} {}: {} MiB total, {} reserved, {} usable{display}{free}; speed {:.2}\n",
            g.id, g.name, g.total_mib, g.reserved_mib, g.capacity_mib, g.speed
        );
    }
    if m.gpus.is_empty() {
        out += "  (no GPUs: CPU-only plans)\n";
    }
    let c = &hw.cpu;
    let avail = r
        .observed
        .map(|o| format!(", {} available now", o.ram_available_mib))
        .unwrap_or_default();
    out += &format!(
        "  {:<6} {} cores / {} threads, {}, {} NUMA node(s): {} MiB RAM, {} OS reserve, {} usable{avail}; speed {:.2}\n",
        "CPU",
        c.cores_physical,
        c.cores_logical,
        c.arch,
        c.numa_nodes,
        c.ram_mib,
        c.os_reserve_mib,
        m.cpu.capacity_mib,
        c.speed
    );
    let defaults: Vec<String> = hw
        .defaults
        .entries
        .iter()
        .map(|e| format!("{}={}", e.key, e.value))
        .collect();
    out += &format!(
        "defaults: {}\n",
        if defaults.is_empty() {
            "(llama-server built-ins)".to_owned()
        } else {
            defaults.join(" ")
        }
    );
    let rt = &hw.runtime;
    out += &format!(
        "runtime: {} (vLLM profiles: {}) on {}:{}, models in {}, CUDA overhead {} MiB per GPU\n",
        rt.llama_server.display(),
        rt.vllm.display(),
        rt.host,
        rt.port,
        rt.models_dir.display(),
        rt.cuda_overhead_mib
    );
    out += &format!(
        "llm: {} at {} (key in ${})\n",
        hw.llm.model, hw.llm.base_url, hw.llm.api_key_env
    );
    if let Some(w) = &r.written {
        let verb = if w.created {
            "created"
        } else if w.changed {
            "updated"
        } else {
            "unchanged:"
        };
        out += &format!("{verb} {} ([cpu]", w.path.display());
        if w.gpus_kept && w.created {
            out += "; no GPU could be detected, add [[gpu]] entries by hand";
        } else if w.gpus_kept {
            out += "; [[gpu]] left as declared, since no GPU could be detected";
        } else {
            out += &format!(" and {} [[gpu]] entries", w.gpus_written);
        }
        if w.gpus_removed > 0 {
            out += &format!(", {} undetected [[gpu]] entries removed", w.gpus_removed);
        }
        out += ")\n";
    }
    out
}
