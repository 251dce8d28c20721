use std::path::PathBuf;

use crate::edit::unified_diff;
use crate::fsutil::replace_if_unchanged;
use crate::hardware;
use crate::scaffold::{NewOptions, add_profile};

#[derive(clap::Args)]
pub struct Args {
    /// The GGUF model (any shard of a split model).
    model: PathBuf,
    /// Profile id (default: <family>-<size>-<quant> from the GGUF metadata).
    #[arg(long)]
    id: Option<String>,
    /// Context size (default: the largest that fits, capped at the trained context).
    #[arg(long)]
    ctx: Option<u64>,
    /// Also add the `bench-<id>` twin.
    #[arg(long)]
    bench: bool,
    /// The models.conf to add to (default: the nearest one here or above, else a new
    /// ./models.conf).
    #[arg(long)]
    file: Option<PathBuf>,
    /// Hardware file (default: profilec.toml beside the models.conf, else detection).
    #[arg(long)]
    hardware: Option<PathBuf>,
    /// Print the diff instead of writing.
    #[arg(long)]
    dry_run: bool,
}

pub fn run(args: Args) -> i32 {
    let file = args
        .file
        .clone()
        .or_else(|| crate::discover::find_conf().ok())
        .unwrap_or_else(|| PathBuf::from(crate::discover::CONF_NAME));
    let conf_dir = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let hw = match hardware::resolve(args.hardware.as_deref(), &conf_dir) {
        Ok(r) => r.hardware,
        Err(e) => return super::fail(&e),
    };
    let opts = NewOptions {
        id: args.id.clone(),
        ctx: args.ctx,
        bench: args.bench,
    };
    let plan = |m: &crate::gguf::Model, f: &crate::gguf::ModelFacts| {
        crate::scaffold::plan_budget(m, f, &args.model, &hw, args.ctx)
    };
    let added = match add_profile(&file, &args.model, &hw, &opts, &plan) {
        Ok(a) => a,
        Err(e) => return super::fail(&e),
    };
    if args.dry_run {
        print!("{}", unified_diff(&file, &added.before, &added.after));
        return 0;
    }
    // An empty `before` is an absent file unless the file exists now (then it must still be
    // empty, or another edit got there first).
    let before = Some(added.before.as_str()).filter(|b| !b.is_empty() || file.exists());
    if let Err(e) = replace_if_unchanged(&file, before, &added.after) {
        return super::fail(&e);
    }
    eprintln!(
        "added [{}] to {} (marked NOT YET TESTED); next: profilec start {} {}",
        added.id,
        file.display(),
        added.id,
        file.display()
    );
    0
}
