use std::path::{Component, Path};

use crate::config::{Conf, Runtime};
use crate::diag::Diagnostic;

/// Once per file: no model file was checked because the models directory is missing.
/// `any_model`: some profile sets MODEL.
pub fn no_models_dir(models_dir: Option<&Path>, any_model: bool) -> Option<Diagnostic> {
    let wanted = models_dir.filter(|d| any_model && !d.is_dir())?;
    Some(
        Diagnostic::note(
            "model::no-models-dir",
            format!(
                "models directory {} not found: model files were not checked",
                wanted.display()
            ),
        )
        .help("pass --models-dir DIR, or set [runtime] models_dir in profilec.toml"),
    )
}

/// MODEL paths: relative to the models directory, inside it, and present on disk with every
/// shard of a split GGUF (start.sh checked only the first shard); a vLLM profile's model is a
/// directory (`vllm_rules` reads it).
pub fn check(
    conf: &Conf,
    runtimes: &[Runtime],
    models_dir: Option<&Path>,
    diags: &mut Vec<Diagnostic>,
) {
    let dir = models_dir.filter(|d| d.is_dir());
    for (p, runtime) in conf.profiles.iter().zip(runtimes) {
        let Some(model) = &p.model else { continue };
        let path = Path::new(&model.value);
        if path.is_absolute() || model.value.starts_with('/') {
            diags.push(
                Diagnostic::error("model::absolute-path", "MODEL is an absolute path")
                    .at(model.span.clone())
                    .label("absolute")
                    .help("write it relative to the models directory (the container mounts it at /models, and start.sh prefixes `models/`)"),
            );
            continue;
        }
        if escapes(path) {
            diags.push(
                Diagnostic::error("model::escapes-models-dir", "MODEL points outside the models directory")
                    .at(model.span.clone())
                    .label("`..` leaves the models directory")
                    .help("keep model files under the models directory; the container only sees that directory"),
            );
            continue;
        }
        if *runtime == Runtime::Vllm {
            if let Some(dir) = dir
                && !dir.join(path).exists()
            {
                diags.push(
                    Diagnostic::error(
                        "model::missing-file",
                        format!("model directory {} not found", dir.join(path).display()),
                    )
                    .at(model.span.clone())
                    .label("not on disk")
                    .help(format!(
                        "download the model into {} (e.g. `huggingface-cli download REPO --local-dir {}`), or fix the path (it is relative to the models directory)",
                        dir.display(),
                        dir.join(path).display()
                    )),
                );
            }
            continue;
        }
        let shards = split_shards(&model.value);
        if let Some((no, _)) = shards
            && no != 1
        {
            diags.push(
                Diagnostic::warning(
                    "model::not-first-shard",
                    format!("MODEL names shard {no} of a split GGUF"),
                )
                .at(model.span.clone())
                .label("not the first shard")
                .help("point MODEL at the `-00001-of-…` file; llama.cpp loads the others from it"),
            );
        }
        let Some(dir) = dir else { continue };
        let missing: Vec<String> = match shards {
            Some((_, count)) => (1..=count)
                .map(|k| shard_name(&model.value, k, count))
                .filter(|name| !dir.join(name).is_file())
                .collect(),
            None if !dir.join(path).is_file() => vec![model.value.clone()],
            None => vec![],
        };
        if dir.join(path).is_dir() {
            // RUNTIME=llama-server on a model directory: llama-server reads one GGUF file.
            diags.push(
                Diagnostic::error(
                    "model::missing-file",
                    format!("MODEL {} is a directory, not a GGUF file", dir.join(path).display()),
                )
                .at(model.span.clone())
                .label("a directory")
                .help("a Hugging Face model directory is served with vLLM: remove RUNTIME=llama-server (or write RUNTIME=vllm), or point MODEL at a .gguf file"),
            );
            continue;
        }
        // A FIFO, socket or device: "not found" would send the user looking for a file that is
        // there (issue 12; `inspect` says the same).
        if let Ok(meta) = std::fs::metadata(dir.join(path))
            && !meta.is_file()
        {
            diags.push(
                Diagnostic::error(
                    "model::missing-file",
                    format!(
                        "MODEL {} is {}, not a GGUF file",
                        dir.join(path).display(),
                        crate::gguf::describe_kind(meta.file_type())
                    ),
                )
                .at(model.span.clone())
                .label("not a regular file")
                .help("point MODEL at the .gguf file itself"),
            );
            continue;
        }
        if !missing.is_empty()
            && let Some(source) = &p.source
        {
            // A model with a SOURCE is one `pull` away: not an error until someone starts it.
            diags.push(
                Diagnostic::warning(
                    "model::not-pulled",
                    format!(
                        "model file {} is not downloaded yet (SOURCE={})",
                        dir.join(path).display(),
                        source.value
                    ),
                )
                .at(model.span.clone())
                .label("not on disk yet")
                .help(format!("run `profilec pull {}` to download it", p.id.value)),
            );
        } else if !missing.is_empty() {
            let what = if shards.is_some() {
                format!(
                    "{} of the model's shards are missing: {}",
                    missing.len(),
                    missing.join(", ")
                )
            } else {
                format!("model file {} not found", dir.join(path).display())
            };
            diags.push(
                Diagnostic::error("model::missing-file", what)
                    .at(model.span.clone())
                    .label("not on disk")
                    .help(format!(
                        "download the file(s) into {}, or fix the path (it is relative to the models directory)",
                        dir.display()
                    )),
            );
        }
    }
}

fn escapes(path: &Path) -> bool {
    let mut depth: i64 = 0;
    for c in path.components() {
        match c {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            _ => {}
        }
        if depth < 0 {
            return true;
        }
    }
    false
}

/// `(shard number, shard count)` for names ending in `-0000k-of-0000N.gguf`.
pub fn split_shards(name: &str) -> Option<(u32, u32)> {
    let stem = name.strip_suffix(".gguf")?;
    let (head, count) = stem.rsplit_once("-of-")?;
    let (_, no) = head.rsplit_once('-')?;
    if no.len() != 5 || count.len() != 5 {
        return None;
    }
    let no: u32 = no.parse().ok()?;
    let count: u32 = count.parse().ok()?;
    (no >= 1 && no <= count).then_some((no, count))
}

fn shard_name(first: &str, k: u32, count: u32) -> String {
    let cut = first.len() - ".gguf".len() - "-00001-of-00000".len();
    format!("{}-{k:05}-of-{count:05}.gguf", &first[..cut])
}
