//! Where a remote model lives: `hf://ORG/REPO/PATH.gguf[@REVISION]` on a Hugging Face hub, or a
//! plain `https://`/`http://` URL (docs/remote.md).

use std::fmt;
use std::path::PathBuf;

use super::RemoteError;

/// The hub's default endpoint (`HF_ENDPOINT` overrides it, as huggingface_hub does).
pub const DEFAULT_ENDPOINT: &str = "https://huggingface.co";

/// A remote GGUF file (for a split model, its first shard).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Hub {
        /// `ORG/REPO`.
        repo: String,
        /// Path of the file inside the repository.
        path: String,
        /// Branch, tag or commit (`main` unless `@REVISION` is given).
        revision: String,
    },
    Url(String),
}

impl Source {
    /// True when `s` names a remote model rather than a local path.
    pub fn is_remote(s: &str) -> bool {
        s.starts_with("hf://") || s.starts_with("https://") || s.starts_with("http://")
    }

    pub fn parse(s: &str) -> Result<Source, RemoteError> {
        let bad = |reason: &str| RemoteError::BadSource {
            given: s.to_string(),
            reason: reason.to_string(),
        };
        if let Some(rest) = s.strip_prefix("hf://") {
            let (file, revision) = match rest.rsplit_once('@') {
                Some((f, r)) if f.ends_with(".gguf") => (f, r),
                _ => (rest, "main"),
            };
            let mut parts = file.splitn(3, '/');
            let (Some(org), Some(repo), Some(path)) = (parts.next(), parts.next(), parts.next())
            else {
                return Err(bad("expected hf://ORG/REPO/PATH.gguf[@REVISION]"));
            };
            if org.is_empty() || repo.is_empty() || path.is_empty() || revision.is_empty() {
                return Err(bad("expected hf://ORG/REPO/PATH.gguf[@REVISION]"));
            }
            if !path.ends_with(".gguf") {
                return Err(bad("the path must name a .gguf file"));
            }
            if path
                .split('/')
                .any(|c| c.is_empty() || c == "." || c == "..")
            {
                return Err(bad(
                    "the path inside the repository has an empty, `.` or `..` part",
                ));
            }
            return Ok(Source::Hub {
                repo: format!("{org}/{repo}"),
                path: path.to_string(),
                revision: revision.to_string(),
            });
        }
        if s.starts_with("https://") || s.starts_with("http://") {
            let name = url_file_name(s);
            if name.is_empty() || name == "." || name == ".." {
                return Err(bad("the URL must end in a file name"));
            }
            return Ok(Source::Url(s.to_string()));
        }
        Err(bad("a source starts with hf://, https:// or http://"))
    }

    /// The URL to fetch: `$HF_ENDPOINT/ORG/REPO/resolve/REVISION/PATH` for the hub (the hub
    /// redirects it to the file), the URL itself otherwise.
    pub fn url(&self, endpoint: &str) -> String {
        match self {
            Source::Hub {
                repo,
                path,
                revision,
            } => format!(
                "{}/{repo}/resolve/{}/{path}",
                endpoint.trim_end_matches('/'),
                // A revision such as `refs/pr/1` is one path segment (huggingface_hub quotes it).
                revision.replace('/', "%2F")
            ),
            Source::Url(u) => u.clone(),
        }
    }

    /// The file's name (the last path segment).
    pub fn file_name(&self) -> &str {
        match self {
            Source::Hub { path, .. } => path.rsplit('/').next().unwrap_or(path),
            Source::Url(u) => url_file_name(u),
        }
    }

    /// The same place with another file name (a split model's other shards).
    pub fn with_file_name(&self, name: &str) -> Source {
        match self {
            Source::Hub {
                repo,
                path,
                revision,
            } => Source::Hub {
                repo: repo.clone(),
                path: match path.rsplit_once('/') {
                    Some((dir, _)) => format!("{dir}/{name}"),
                    None => name.to_string(),
                },
                revision: revision.clone(),
            },
            Source::Url(u) => {
                let (base, query) = split_query(u);
                let dir = base.rsplit_once('/').map_or(base, |(d, _)| d);
                Source::Url(format!("{dir}/{name}{query}"))
            }
        }
    }

    /// The MODEL path (relative to `[runtime] models_dir`) a pulled copy gets: the path inside
    /// the repository for the hub (keeps a split set's folder), the file name for a URL.
    pub fn model_path(&self) -> PathBuf {
        match self {
            Source::Hub { path, .. } => PathBuf::from(path),
            Source::Url(_) => PathBuf::from(self.file_name()),
        }
    }

    /// True for the hub, whose responses carry the LFS object id (`X-Linked-Etag`).
    pub fn is_hub(&self) -> bool {
        matches!(self, Source::Hub { .. })
    }
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Hub {
                repo,
                path,
                revision,
            } if revision == "main" => write!(f, "hf://{repo}/{path}"),
            Source::Hub {
                repo,
                path,
                revision,
            } => write!(f, "hf://{repo}/{path}@{revision}"),
            Source::Url(u) => f.write_str(u),
        }
    }
}

fn split_query(u: &str) -> (&str, &str) {
    match u.find(['?', '#']) {
        Some(i) => (&u[..i], &u[i..]),
        None => (u, ""),
    }
}

fn url_file_name(u: &str) -> &str {
    let (base, _) = split_query(u);
    let after_scheme = base.split_once("://").map_or(base, |(_, r)| r);
    match after_scheme.split_once('/') {
        Some((_, path)) => path.rsplit('/').next().unwrap_or(""),
        None => "",
    }
}
