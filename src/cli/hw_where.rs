//! `profilec hw --where`: which profilec.toml the planning verbs use from the current
//! directory, why, and every place looked at (docs/hardware.md, "Which profilec.toml").

use std::path::Path;

use super::hw::Format;
use crate::discover::{Candidate, Located, Reason, locate};

pub fn run(explicit: Option<&Path>, format: Format) -> i32 {
    let located = match locate(explicit) {
        Ok(l) => l,
        Err(e) => return super::fail(&e),
    };
    match format {
        Format::Json => match serde_json::to_string_pretty(&located) {
            Ok(s) => println!("{s}"),
            Err(e) => return super::internal("cannot encode JSON", e),
        },
        Format::Human => super::term::print_fitted(&human(&located)),
    }
    0
}

fn human(l: &Located) -> String {
    let h = &l.hardware;
    let mut out = match &h.path {
        Some(p) => format!(
            "profilec.toml: {}\n  why: {}\n",
            p.display(),
            h.reason.describe()
        ),
        None => format!("profilec.toml: none\n  why: {}\n", h.reason.describe()),
    };
    out += &match &l.models_conf {
        Some(c) => format!("  models.conf: {}\n", c.display()),
        None => "  models.conf: none here or above (looked beside the current directory)\n".into(),
    };
    out += "  searched, first found wins:\n";
    for c in &h.searched {
        out += &format!("    {:<28} {}\n", place(c.reason), status(c));
    }
    out
}

fn place(r: Reason) -> &'static str {
    match r {
        Reason::Flag => "--hardware",
        Reason::BesideConf => "beside models.conf",
        Reason::Env => "$PROFILEC_CONFIG",
        Reason::UserConfig => "user config directory",
        Reason::Detected => "detection",
    }
}

fn status(c: &Candidate) -> String {
    match (&c.path, c.found) {
        (None, _) if c.reason == Reason::Flag => "not given".into(),
        (None, _) if c.reason == Reason::Env => "unset".into(),
        (None, _) => "none on this system".into(),
        (Some(p), true) => format!("{} (used)", p.display()),
        (Some(p), false) => format!("{} (no such file)", p.display()),
    }
}
