//! The whole `new` edit as a library function: read the model and the file, draft the profile,
//! append it losslessly, prove the result still checks.

use std::path::{Path, PathBuf};

use super::{Budget, NewOptions, is_thinking, scaffold};
use crate::check::check_source;
use crate::diag::Severity;
use crate::edit::{EditError, append_block};
use crate::error::{Failure, exit};
use crate::gguf::{self, GgufError, shard_path, split_name};
use crate::hardware::Hardware;
use crate::remote::RemoteModel;
use crate::syntax::Document;

#[derive(Debug, thiserror::Error)]
pub enum NewError {
    #[error(transparent)]
    Model(#[from] GgufError),
    #[error("{model} is not inside the models directory {dir}")]
    OutsideModelsDir { model: PathBuf, dir: PathBuf },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("--id `{id}` is not a profile id: `{}` is not allowed in one", bad.escape_default())]
    InvalidId { id: String, bad: char },
    #[error("--ctx {ctx}: {why}")]
    CtxOutOfRange { ctx: u64, why: String },
    #[error("the model's path `{}` holds a control character (`{}`), which a models.conf value cannot hold", path.escape_default(), bad.escape_default())]
    UnwritablePath { path: String, bad: char },
    #[error(transparent)]
    Edit(#[from] EditError),
}

impl Failure for NewError {
    fn code(&self) -> &'static str {
        match self {
            NewError::Model(e) => e.code(),
            NewError::OutsideModelsDir { .. } => "new::outside-models-dir",
            NewError::InvalidId { .. } => "usage::invalid-id",
            NewError::CtxOutOfRange { .. } => "usage::ctx-out-of-range",
            NewError::UnwritablePath { .. } => "new::unwritable-path",
            NewError::Read { .. } => "io::read",
            NewError::Edit(e) => e.code(),
        }
    }

    fn help(&self) -> String {
        match self {
            NewError::Model(e) => Failure::help(e),
            NewError::OutsideModelsDir { dir, .. } => format!(
                "MODEL is written relative to the models directory: move the file under {}, or set [runtime] models_dir in profilec.toml",
                dir.display()
            ),
            NewError::InvalidId { id, .. } => format!(
                "an id is letters, digits, `-` and `_` (start.sh's `[id]` header); try --id {}",
                crate::config::suggest_id(id)
            ),
            NewError::CtxOutOfRange { .. } => format!(
                "give --ctx between 0 (the model's trained context) and {}",
                i32::MAX
            ),
            NewError::UnwritablePath { .. } => {
                "a value is one line of text: rename the file (and its shards) without line breaks or control characters, then run `profilec new` again".into()
            }
            NewError::Read { .. } => "check the --file path".into(),
            NewError::Edit(e) => e.help(),
        }
    }

    fn exit_code(&self) -> i32 {
        match self {
            NewError::Model(e) => Failure::exit_code(e),
            NewError::Edit(e) => e.exit_code(),
            NewError::Read { .. } | NewError::InvalidId { .. } | NewError::CtxOutOfRange { .. } => {
                exit::USAGE
            }
            NewError::OutsideModelsDir { .. } | NewError::UnwritablePath { .. } => exit::FAILED,
        }
    }
}

/// `--id` and `--ctx` as the file will hold them: refused before anything is read, with the
/// rule they break (an id start.sh's header regex accepts, a context llama-server reads).
fn validate(opts: &NewOptions) -> Result<(), NewError> {
    if let Some(id) = &opts.id
        && let Some(c) = id
            .chars()
            .find(|c| !crate::config::is_id_char(*c))
            .or(id.is_empty().then_some(' '))
    {
        return Err(NewError::InvalidId {
            id: id.clone(),
            bad: c,
        });
    }
    if let Some(ctx) = opts.ctx
        && let Err(why) = crate::config::parse_ctx(&ctx.to_string())
    {
        return Err(NewError::CtxOutOfRange { ctx, why });
    }
    Ok(())
}

/// The edit `new` makes: the file's text before and after.
#[derive(Debug, Clone)]
pub struct Added {
    pub id: String,
    pub before: String,
    pub after: String,
}

/// Drafts a profile for `model` and appends it to `conf_path` (which may not exist yet).
/// `plan_budget` is called with the chosen id's facts to plan the context; `None` when there is
/// no memory model for the machine.
pub fn add_profile(
    conf_path: &Path,
    model: &Path,
    hw: &Hardware,
    opts: &NewOptions,
    plan_budget: &dyn Fn(&gguf::Model, &gguf::ModelFacts) -> Option<Budget>,
) -> Result<Added, NewError> {
    validate(opts)?;
    let (m, facts) = gguf::inspect(model)?;
    let models_dir = &hw.runtime.models_dir;
    let first = match split_name(model) {
        Some((prefix, _, count)) => shard_path(&prefix, 1, count),
        None => model.to_path_buf(),
    };
    let rel = relative_to(&first, models_dir).ok_or_else(|| NewError::OutsideModelsDir {
        model: model.to_path_buf(),
        dir: models_dir.clone(),
    })?;
    append_profile(conf_path, (&m, &facts), &rel, model, hw, opts, plan_budget)
}

/// [`add_profile`] for a model read over HTTP: MODEL is the path `pull` will give it
/// (`Source::model_path`, relative to the models directory) and SOURCE says where it comes
/// from.
pub fn add_remote_profile(
    conf_path: &Path,
    remote: &RemoteModel,
    hw: &Hardware,
    opts: &NewOptions,
    plan_budget: &dyn Fn(&gguf::Model, &gguf::ModelFacts) -> Option<Budget>,
) -> Result<Added, NewError> {
    let rel = remote.source.model_path().to_string_lossy().into_owned();
    let opts = NewOptions {
        source: Some(remote.source.to_string()),
        ..opts.clone()
    };
    let m = &remote.loaded;
    let file = Path::new(remote.source.file_name());
    append_profile(
        conf_path,
        (&m.model, &m.facts),
        &rel,
        file,
        hw,
        &opts,
        plan_budget,
    )
}

fn append_profile(
    conf_path: &Path,
    (m, facts): (&gguf::Model, &gguf::ModelFacts),
    rel: &str,
    model: &Path,
    hw: &Hardware,
    opts: &NewOptions,
    plan_budget: &dyn Fn(&gguf::Model, &gguf::ModelFacts) -> Option<Budget>,
) -> Result<Added, NewError> {
    if let Some(bad) = rel.chars().find(|c| c.is_control()) {
        return Err(NewError::UnwritablePath {
            path: rel.to_string(),
            bad,
        });
    }
    let models_dir = &hw.runtime.models_dir;
    let before = match std::fs::read_to_string(conf_path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(source) => {
            return Err(NewError::Read {
                path: conf_path.to_path_buf(),
                source,
            });
        }
    };
    let old = check_source(before.clone(), None);
    let budget = plan_budget(m, facts);
    let (id, block) = scaffold(
        facts,
        is_thinking(m, facts),
        rel,
        model,
        opts,
        budget.as_ref(),
    );
    for taken in [id.clone(), format!("bench-{id}")] {
        if (taken == id || opts.bench) && old.conf.profile(&taken).is_some() {
            return Err(EditError::DuplicateId(taken).into());
        }
    }
    let after = append_block(&Document::parse(before.clone()), &block);
    let new = check_source(after.clone(), Some(models_dir));
    let introduced: Vec<String> = new
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .filter(|d| d.span.as_ref().is_some_and(|s| s.start >= before.len()))
        .map(|d| format!("{}: {}", d.code, d.message))
        .collect();
    if !introduced.is_empty() {
        return Err(EditError::WouldBreak(introduced.join("; ")).into());
    }
    Ok(Added { id, before, after })
}

/// `path` relative to `dir`, when it lies inside it (both made absolute first).
fn relative_to(path: &Path, dir: &Path) -> Option<String> {
    let abs = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| crate::resolve::absolute(p));
    let rel = abs(path).strip_prefix(abs(dir)).ok()?.to_path_buf();
    Some(rel.to_string_lossy().into_owned())
}
