//! The line loop: every line goes through the rule groups in order; the first group that uses
//! it wins. Nothing here fails on odd input: unknown lines are skipped, numbers that do not
//! parse leave the field empty.

use std::collections::BTreeMap;

use super::line::Line;
use super::report::{
    Context, DeviceMemory, Failure, FailureKind, KvKind, LogLine, Oom, Outcome, SCHEMA_VERSION,
    StartupReport, buffer_device_in, round2,
};
use super::{failure, fit, memory, session};

pub(super) struct State {
    pub report: StartupReport,
    /// Set by `creating non-SWA/SWA KV cache`, used by the next KV summary line.
    pub kv_kind: Option<KvKind>,
    /// `CUDA`/`ROCm` from `found N CUDA devices`, to name the `Device N:` lines.
    pub gpu_backend: Option<String>,
    pub loaded_line: Option<usize>,
    /// First fatal line: number, text, whether it came after the model loaded.
    pub fatal: Option<(usize, String, bool)>,
    pub pending_oom: Option<Oom>,
    pub oom_fatal: bool,
    pub model_file_fatal: bool,
}

impl State {
    fn new() -> Self {
        State {
            report: StartupReport {
                schema_version: SCHEMA_VERSION,
                program: None,
                build: None,
                verbosity: None,
                memory_lines: false,
                model_path: None,
                devices: Vec::new(),
                load_mode: None,
                offload: None,
                model_buffers: Vec::new(),
                context: Context::default(),
                output_buffers: Vec::new(),
                kv_buffers: Vec::new(),
                kv_caches: Vec::new(),
                recurrent_buffers: Vec::new(),
                recurrent: Vec::new(),
                compute_buffers: Vec::new(),
                graph: None,
                fit: None,
                memory_breakdown: Vec::new(),
                per_device: Vec::new(),
                listening: None,
                outcome: Outcome::Incomplete,
                failure: None,
                warnings: Vec::new(),
                errors: Vec::new(),
                lines: 0,
                recognized_lines: 0,
            },
            kv_kind: None,
            gpu_backend: None,
            loaded_line: None,
            fatal: None,
            pending_oom: None,
            oom_fatal: false,
            model_file_fatal: false,
        }
    }

    pub fn mark_loaded(&mut self, no: usize) {
        self.loaded_line.get_or_insert(no);
    }

    /// Forgets the per-load sections when the loader starts over (e.g. a second model).
    pub fn start_model_load(&mut self) {
        let r = &mut self.report;
        r.load_mode = None;
        r.offload = None;
        r.model_buffers.clear();
        r.context = Context::default();
        r.output_buffers.clear();
        r.kv_buffers.clear();
        r.kv_caches.clear();
        r.recurrent_buffers.clear();
        r.recurrent.clear();
        r.compute_buffers.clear();
        r.graph = None;
        self.kv_kind = None;
    }

    fn line(&mut self, line: &Line) {
        let body = line.body;
        if body.is_empty() {
            return;
        }
        session::detect_program(self, body);
        if line.is_warning() {
            self.report.warnings.push(LogLine {
                line: line.no,
                text: body.to_string(),
            });
        }
        if line.is_error() {
            self.report.errors.push(LogLine {
                line: line.no,
                text: body.to_string(),
            });
        }
        let used = fit::apply(self, body)
            || memory::apply(self, body)
            || session::apply(self, line.no, body)
            || failure::apply(self, line);
        if used || session::is_known(body) {
            self.report.recognized_lines += 1;
        }
    }

    fn finish(mut self) -> StartupReport {
        let failed = match &self.fatal {
            Some((_, _, after_load)) => *after_load || self.loaded_line.is_none(),
            // An allocator failure with no fatal line after it: the log was cut off there.
            None => self.loaded_line.is_none() && self.pending_oom.is_some(),
        };
        self.report.outcome = if failed {
            Outcome::Failed
        } else if self.loaded_line.is_some() {
            Outcome::Loaded
        } else {
            Outcome::Incomplete
        };
        if failed {
            let oom = self.oom_fatal || (self.pending_oom.is_some() && !self.model_file_fatal);
            let kind = if oom {
                FailureKind::OutOfMemory
            } else if self.model_file_fatal {
                FailureKind::ModelFile
            } else {
                FailureKind::Other
            };
            let (line, message, after_load) = match self.fatal.take() {
                Some(f) => f,
                None => (
                    self.report.lines,
                    "the log ends after an allocation failure".into(),
                    false,
                ),
            };
            self.report.failure = Some(Failure {
                kind,
                line,
                message,
                oom: match kind {
                    FailureKind::OutOfMemory => Some(self.pending_oom.take().unwrap_or_default()),
                    _ => None,
                },
                after_load,
            });
        }
        self.report.per_device = per_device(&self.report);
        self.report
    }
}

fn per_device(r: &StartupReport) -> Vec<DeviceMemory> {
    let mut by: BTreeMap<String, DeviceMemory> = BTreeMap::new();
    let mut add = |name: &str, mib: f64, pick: fn(&mut DeviceMemory) -> &mut f64| {
        let dev = buffer_device_in(name, &r.devices);
        let entry = by.entry(dev.clone()).or_insert_with(|| DeviceMemory {
            device: dev,
            weights_mib: 0.0,
            kv_mib: 0.0,
            recurrent_mib: 0.0,
            compute_mib: 0.0,
            output_mib: 0.0,
            total_mib: 0.0,
        });
        *pick(entry) += mib;
        entry.total_mib += mib;
    };
    for b in &r.model_buffers {
        add(&b.name, b.mib, |d| &mut d.weights_mib);
    }
    for b in &r.kv_buffers {
        add(&b.name, b.mib, |d| &mut d.kv_mib);
    }
    for b in &r.recurrent_buffers {
        add(&b.name, b.mib, |d| &mut d.recurrent_mib);
    }
    for b in &r.compute_buffers {
        add(&b.name, b.mib, |d| &mut d.compute_mib);
    }
    for b in &r.output_buffers {
        add(&b.name, b.mib, |d| &mut d.output_mib);
    }
    let mut out: Vec<DeviceMemory> = by.into_values().collect();
    for d in &mut out {
        for v in [
            &mut d.weights_mib,
            &mut d.kv_mib,
            &mut d.recurrent_mib,
            &mut d.compute_mib,
            &mut d.output_mib,
            &mut d.total_mib,
        ] {
            *v = round2(*v);
        }
    }
    // GPUs first in name order, the host last: the order people read a placement in.
    out.sort_by_key(|d| (d.device == "CPU", d.device.clone()));
    out
}

/// Parses log text. Returns the report even for logs that stop early; the caller checks
/// `recognized_lines` (see [`super::parse`]).
pub(super) fn run(text: &str) -> StartupReport {
    let mut st = State::new();
    let mut count = 0;
    for (i, raw) in text.lines().enumerate() {
        count = i + 1;
        st.line(&Line::split(i + 1, raw));
    }
    st.report.lines = count;
    st.finish()
}
