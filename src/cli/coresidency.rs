//! `plan --together ID ID… [FILE]` and `plan --sets [FILE]`: parse, call the library, print.

use std::path::{Path, PathBuf};

use crate::coresidency::{plan_sets, plan_together, render_human, render_sets_human};
use crate::project::open_for_plan;

/// `--together a b models.conf`: the last value is the file when it names one (clap cannot
/// tell a trailing positional from one more id).
pub fn split_file(mut ids: Vec<String>, file: Option<PathBuf>) -> (Vec<String>, Option<PathBuf>) {
    if ids.len() > 1
        && let Some(last) = ids.last()
        && (last.ends_with(".conf") || last.contains('/') || Path::new(last).is_file())
    {
        let f = PathBuf::from(ids.pop().unwrap_or_default());
        return (ids, Some(f));
    }
    (ids, file)
}

pub fn together(ids: &[String], file: &Path, hardware: Option<&Path>, json: bool) -> i32 {
    let mut project = match open_for_plan(file, hardware) {
        Ok(p) => p,
        Err(e) => return super::fail(&e.to_string(), &e.help(), e.exit_code()),
    };
    let t = match plan_together(&mut project, ids) {
        Ok(t) => t,
        Err(e) => return super::fail(&e.to_string(), &e.help(), e.exit_code()),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&t).unwrap_or_default());
    } else {
        print!("{}", render_human(&t));
    }
    i32::from(!t.fits)
}

pub fn sets(file: &Path, hardware: Option<&Path>, limit: u64, json: bool) -> i32 {
    let mut project = match open_for_plan(file, hardware) {
        Ok(p) => p,
        Err(e) => return super::fail(&e.to_string(), &e.help(), e.exit_code()),
    };
    let s = match plan_sets(&mut project, limit) {
        Ok(s) => s,
        Err(e) => return super::fail(&e.to_string(), &e.help(), e.exit_code()),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&s).unwrap_or_default());
    } else {
        print!("{}", render_sets_human(&s));
    }
    0
}
