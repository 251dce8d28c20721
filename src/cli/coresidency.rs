//! `plan --together ID ID… [FILE]` and `plan --sets [FILE]`: parse, call the library, print.

use std::path::{Path, PathBuf};

use crate::coresidency::{
    TogetherError, plan_sets, plan_together, render_human, render_sets_human,
};
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
    super::flags::follow_for_conf(file, hardware);
    let t = open_for_plan(file, hardware)
        .map_err(TogetherError::from)
        .and_then(|mut project| plan_together(&mut project, ids));
    match t {
        Ok(t) => print(&t, json, render_human) + i32::from(!t.fits),
        Err(e) => super::fail(&e),
    }
}

pub fn sets(file: &Path, hardware: Option<&Path>, limit: u64, json: bool) -> i32 {
    super::flags::follow_for_conf(file, hardware);
    match open_for_plan(file, hardware).and_then(|mut project| plan_sets(&mut project, limit)) {
        Ok(s) => print(&s, json, render_sets_human),
        Err(e) => super::fail(&e),
    }
}

/// Prints `value` as JSON or through `human`; 0.
fn print<T: serde::Serialize>(value: &T, json: bool, human: fn(&T) -> String) -> i32 {
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(value).unwrap_or_default()
        );
    } else {
        print!("{}", super::term::get().stdout.fit(&human(value)));
    }
    0
}
