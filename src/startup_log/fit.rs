//! `--fit` messages (`common_params_fit_impl:`/`common_fit_params:`, older
//! `llama_params_fit_impl:`/`llama_params_fit:`) and the `memory breakdown [MiB]` table that
//! fit prints for each dry run and llama.cpp prints again at exit.

use std::sync::LazyLock;

use regex::{Captures, Regex};

use super::parser::State;
use super::report::{BreakdownRow, Fit, FitStatus};

macro_rules! re {
    ($name:ident, $pat:expr) => {
        static $name: LazyLock<Regex> =
            LazyLock::new(|| Regex::new($pat).expect("pattern is a valid regex"));
    };
}

re!(
    FIT_LINE,
    r"\b(?:common_params_fit_impl|common_fit_params|llama_params_fit_impl|llama_params_fit): (.*)$"
);
re!(FIT_START, r"fitting params to device memory");
re!(
    FIT_ABORT,
    r"failed to fit params to free device memory: (.*)$"
);
re!(
    FIT_ERROR,
    r"encountered an error while trying to fit params to free device memory: (.*)$"
);
re!(FIT_REDUCED, r"context size reduced from (\d+) to (\d+)");
re!(FIT_PROJECTED, r"projected to use (\d+) MiB");
re!(
    FIT_TOOK,
    r"fitting params to free memory took ([\d.]+) seconds"
);
re!(BREAKDOWN_HEADER, r"memory breakdown \[MiB\]");
re!(BREAKDOWN_ROW, r"\|\s+- (.+?)\s*\|([\d\s=+()]+)\|\s*$");
re!(NUMBER, r"\d+");
re!(NAME_DESC, r"^(\S+)(?: \((.*)\))?$");

fn text(c: &Captures, i: usize) -> Option<String> {
    c.get(i).map(|m| m.as_str().to_string())
}

fn num<T: std::str::FromStr>(c: &Captures, i: usize) -> Option<T> {
    c.get(i).and_then(|m| m.as_str().parse().ok())
}

pub(super) fn apply(st: &mut State, body: &str) -> bool {
    if FIT_START.is_match(body) {
        st.fit();
        return true;
    }
    let Some(c) = FIT_LINE.captures(body) else {
        return breakdown(st, body);
    };
    let msg = c.get(1).map_or("", |m| m.as_str());
    let fit = st.fit();
    fit.messages.push(msg.to_string());
    if msg.contains("successfully fit params") {
        fit.status = FitStatus::Succeeded;
    } else if let Some(c) = FIT_ABORT.captures(msg) {
        fit.status = FitStatus::Aborted;
        fit.reason = text(&c, 1);
    } else if let Some(c) = FIT_ERROR.captures(msg) {
        fit.status = FitStatus::Error;
        fit.reason = text(&c, 1);
    } else if let Some(c) = FIT_REDUCED.captures(msg) {
        fit.ctx_reduced_from = num(&c, 1);
        fit.ctx_reduced_to = num(&c, 2);
    } else if let Some(c) = FIT_PROJECTED.captures(msg) {
        fit.projected_mib = num(&c, 1);
    } else if let Some(c) = FIT_TOOK.captures(msg) {
        fit.seconds = num(&c, 1);
    }
    if msg.contains("no changes needed") {
        fit.no_changes = true;
    }
    true
}

fn breakdown(st: &mut State, body: &str) -> bool {
    if BREAKDOWN_HEADER.is_match(body) {
        // Each table replaces the previous one: the last describes the final state.
        st.report.memory_breakdown.clear();
        return true;
    }
    let Some(c) = BREAKDOWN_ROW.captures(body) else {
        return false;
    };
    let label = c.get(1).map_or("", |m| m.as_str());
    let nums: Vec<u64> = c.get(2).map_or(Vec::new(), |m| {
        NUMBER
            .find_iter(m.as_str())
            .filter_map(|n| n.as_str().parse().ok())
            .collect()
    });
    let (name, description) = match NAME_DESC.captures(label) {
        Some(nd) => (text(&nd, 1).unwrap_or_default(), text(&nd, 2)),
        None => (label.to_string(), None),
    };
    let row = match *nums.as_slice() {
        // device: total = free + (self = model + context + compute) + unaccounted
        [total, free, self_mib, model, context, compute, unaccounted] => BreakdownRow {
            name,
            description,
            total: Some(total),
            free: Some(free),
            self_mib,
            model,
            context,
            compute,
            unaccounted: Some(unaccounted),
        },
        // host and other buffer types: self = model + context + compute
        [self_mib, model, context, compute] => BreakdownRow {
            name,
            description,
            total: None,
            free: None,
            self_mib,
            model,
            context,
            compute,
            unaccounted: None,
        },
        _ => return false,
    };
    st.report.memory_breakdown.push(row);
    true
}

impl State {
    fn fit(&mut self) -> &mut Fit {
        self.report.fit.get_or_insert_with(|| Fit {
            status: FitStatus::Unknown,
            reason: None,
            no_changes: false,
            ctx_reduced_from: None,
            ctx_reduced_to: None,
            projected_mib: None,
            seconds: None,
            messages: Vec::new(),
        })
    }
}
