//! Which profiles a pull looks at, and the files each one needs: MODEL resolved against
//! `[runtime] models_dir` the way `resolve` does, a split SOURCE expanded to its shards.

use std::path::{Path, PathBuf};

use super::{PullError, PullRequest};
use crate::config::Profile;
use crate::gguf::{shard_path, split_name};
use crate::remote::Source;

/// One profile's files to have.
#[derive(Debug, Clone)]
pub struct Planned {
    pub id: String,
    pub roles: Vec<String>,
    pub source: Option<Source>,
    /// MODEL (the first shard for a split model), absolute.
    pub model: Option<PathBuf>,
    /// Every file: its source (if any), where it goes, the digest SHA256= gives for it.
    pub files: Vec<PlannedFile>,
}

#[derive(Debug, Clone)]
pub struct PlannedFile {
    pub source: Option<Source>,
    pub dest: PathBuf,
    pub sha256: Option<String>,
}

/// The `ROLES=` of a profile (read from its raw entries, so this works whether or not the
/// config stage knows the key yet): comma-separated, blanks dropped.
pub fn roles_of(profile: &Profile) -> Vec<String> {
    profile
        .entries
        .iter()
        .rev()
        .find(|e| e.key.value == "ROLES")
        .map(|e| {
            e.value
                .value
                .split(',')
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

pub fn plan(request: &PullRequest) -> Result<Vec<Planned>, PullError> {
    let text = std::fs::read_to_string(&request.conf).map_err(|source| PullError::Conf {
        path: request.conf.clone(),
        source,
    })?;
    let (conf, _) = crate::config::load(crate::syntax::Document::parse(text));
    let conf_dir = match request.conf.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let hw = crate::hardware::resolve(request.hardware.as_deref(), &conf_dir)?;
    let models_dir = crate::resolve::absolute(&hw.hardware.runtime.models_dir);
    for id in &request.ids {
        if conf.profile(id).is_none() {
            return Err(PullError::UnknownProfile {
                id: id.clone(),
                file: request.conf.clone(),
                known: conf.ids().join(", "),
            });
        }
    }
    for role in &request.roles {
        if !conf.profiles.iter().any(|p| roles_of(p).contains(role)) {
            return Err(PullError::UnknownRole {
                role: role.clone(),
                file: request.conf.clone(),
            });
        }
    }
    Ok(conf
        .profiles
        .iter()
        .filter(|p| request.ids.is_empty() || request.ids.contains(&p.id.value))
        .filter(|p| {
            request.roles.is_empty() || roles_of(p).iter().any(|r| request.roles.contains(r))
        })
        .map(|p| planned(p, &models_dir))
        .collect())
}

fn planned(p: &Profile, models_dir: &Path) -> Planned {
    let source = p.source.as_ref().map(|s| s.value.clone());
    let model = p
        .model
        .as_ref()
        .map(|m| PathBuf::from(&m.value))
        .or_else(|| source.as_ref().map(Source::model_path))
        .map(|m| crate::resolve::absolute(&models_dir.join(m)));
    let digests = p
        .sha256
        .as_ref()
        .map(|s| s.value.clone())
        .unwrap_or_default();
    let files = match &model {
        None => Vec::new(),
        Some(model) => files(model, source.as_ref(), &digests),
    };
    Planned {
        id: p.id.value.clone(),
        roles: roles_of(p),
        source,
        model,
        files,
    }
}

/// The files of MODEL: one, or every shard when the SOURCE (else MODEL) is named
/// `NAME-00001-of-0000N.gguf`.
fn files(model: &Path, source: Option<&Source>, digests: &[String]) -> Vec<PlannedFile> {
    let count = source
        .and_then(|s| split_name(Path::new(s.file_name())))
        .or_else(|| split_name(model))
        .map_or(1, |(_, _, n)| n.max(1));
    let prefix = split_name(model).map(|(prefix, _, _)| prefix);
    (1..=count)
        .map(|i| {
            let dest = match (&prefix, source) {
                (Some(prefix), _) if count > 1 => shard_path(prefix, i, count),
                // MODEL renamed without the shard suffix: shards keep the source's names.
                (None, Some(s)) if count > 1 && i > 1 => match split_name(Path::new(s.file_name()))
                {
                    Some((stem, _, n)) => model.with_file_name(shard_file_name(&stem, i, n)),
                    None => model.to_path_buf(),
                },
                _ => model.to_path_buf(),
            };
            let source = source.map(|s| match split_name(Path::new(s.file_name())) {
                Some((stem, _, n)) if count > 1 => s.with_file_name(&shard_file_name(&stem, i, n)),
                _ => s.clone(),
            });
            PlannedFile {
                source,
                dest,
                sha256: digests.get(i as usize - 1).cloned(),
            }
        })
        .collect()
}

fn shard_file_name(stem: &Path, index: u32, count: u32) -> String {
    shard_path(stem, index, count)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default()
        .to_string()
}
