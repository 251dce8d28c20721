//! One profile's pull: lock the folder, probe every missing file, check the free space, fetch
//! into `.part` files (resuming with Range), verify SHA-256, rename into place (the first shard
//! last, so MODEL appears only when the whole set is there).

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::select::{Planned, PlannedFile};
use super::{Action, ProfileAction, Progress, PullRequest};
use crate::error::Failure as _;
use crate::remote::{Client, RemoteError, Source};

/// Attempts per file: a dropped connection resumes from the bytes already written.
const ATTEMPTS: usize = 3;
const COPY_BUF: usize = 1 << 20;

/// Why a profile failed.
struct Failure {
    code: &'static str,
    reason: String,
    help: String,
}

impl Failure {
    fn new(code: &'static str, reason: String, help: impl Into<String>) -> Failure {
        Failure {
            code,
            reason,
            help: help.into(),
        }
    }

    fn io(what: &str, path: &Path, e: &std::io::Error) -> Failure {
        Failure::new(
            "pull::io",
            format!("cannot {what} {}: {e}", path.display()),
            "check that the models folder exists and is writable",
        )
    }
}

impl From<RemoteError> for Failure {
    fn from(e: RemoteError) -> Failure {
        Failure::new(e.code(), e.to_string(), e.help())
    }
}

/// A file to fetch.
struct Job {
    source: Source,
    url: String,
    size: u64,
    dest: PathBuf,
    part: PathBuf,
    expected: Option<(String, &'static str)>,
}

pub(super) fn run(
    p: &Planned,
    request: &PullRequest,
    client: &Client,
    observe: &mut dyn FnMut(Progress),
) -> ProfileAction {
    let mut out = ProfileAction {
        id: p.id.clone(),
        roles: p.roles.clone(),
        model: p.model.clone(),
        source: p.source.as_ref().map(Source::to_string),
        action: Action::Present,
        bytes_downloaded: 0,
        sha256: Vec::new(),
        verified_against: None,
    };
    out.action = match execute(p, request, client, observe, &mut out) {
        Ok(action) => action,
        Err(f) => Action::Failed {
            code: f.code.to_string(),
            reason: f.reason,
            help: f.help,
        },
    };
    out
}

fn all_present(files: &[PlannedFile]) -> bool {
    !files.is_empty() && files.iter().all(|f| f.dest.is_file())
}

fn execute(
    p: &Planned,
    request: &PullRequest,
    client: &Client,
    observe: &mut dyn FnMut(Progress),
    out: &mut ProfileAction,
) -> Result<Action, Failure> {
    let Some(model) = &p.model else {
        return Err(Failure::new(
            "pull::no-model",
            format!("profile `{}` has neither MODEL nor SOURCE", p.id),
            "set SOURCE=hf://ORG/REPO/FILE.gguf (and MODEL), or MODEL to a file you have",
        ));
    };
    if all_present(&p.files) && !request.force {
        return Ok(Action::Present);
    }
    if p.source.is_none() {
        if all_present(&p.files) {
            return verify_present(p, client, out);
        }
        return Err(Failure::new(
            "pull::no-source",
            format!(
                "MODEL {} is missing and profile `{}` has no SOURCE",
                model.display(),
                p.id
            ),
            "add SOURCE=hf://ORG/REPO/FILE.gguf to the profile, or put the file at MODEL",
        ));
    }
    let dir = model.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Failure::io("create", dir, &e))?;
    // One pull per folder at a time, across threads and processes: a second provision of the
    // same file waits here, then finds it installed.
    let lock = File::open(dir).map_err(|e| Failure::io("open", dir, &e))?;
    lock.lock().map_err(|e| Failure::io("lock", dir, &e))?;
    if all_present(&p.files) {
        return if request.force {
            verify_present(p, client, out)
        } else {
            Ok(Action::Present)
        };
    }
    let jobs = probe_missing(p, client)?;
    let mut done = 0;
    let mut total = 0;
    for job in &jobs {
        let have = std::fs::metadata(&job.part).map_or(0, |m| m.len());
        total += job.size;
        done += if have <= job.size { have } else { 0 };
    }
    let needed = total - done;
    let free = request
        .free_space
        .bytes_at(dir)
        .map_err(|e| Failure::io("measure the free space of", dir, &e))?;
    if needed > free {
        return Err(Failure::new(
            "pull::no-space",
            format!(
                "{} needs {} more on the disk of {}, only {} free",
                p.id,
                gib(needed),
                dir.display(),
                gib(free)
            ),
            "free disk space there, or point [runtime] models_dir in profilec.toml at a bigger disk",
        ));
    }
    observe(Progress::Start {
        id: p.id.clone(),
        total,
        done,
    });
    let result = fetch_all(&jobs, client, observe, out);
    observe(Progress::Finish { id: p.id.clone() });
    let resumed = result?;
    // Shards first, MODEL (the first shard) last: MODEL exists only when the set is complete.
    for job in jobs.iter().rev() {
        std::fs::rename(&job.part, &job.dest).map_err(|e| Failure::io("install", &job.dest, &e))?;
    }
    drop(lock);
    Ok(if resumed {
        Action::Resumed
    } else {
        Action::Downloaded
    })
}

fn fetch_all(
    jobs: &[Job],
    client: &Client,
    observe: &mut dyn FnMut(Progress),
    out: &mut ProfileAction,
) -> Result<bool, Failure> {
    let mut resumed = false;
    for job in jobs {
        let digest = fetch(
            job,
            client,
            observe,
            &mut out.bytes_downloaded,
            &mut resumed,
        )?;
        check_digest(job, &digest, out)?;
    }
    Ok(resumed)
}

/// Probes every file not yet at its destination (URL after redirects, size, the hub's digest);
/// SHA256= and the hub must agree before anything is fetched.
fn probe_missing(p: &Planned, client: &Client) -> Result<Vec<Job>, Failure> {
    let mut jobs = Vec::new();
    for f in p.files.iter().filter(|f| !f.dest.is_file()) {
        let Some(source) = &f.source else { continue };
        let probe = client.probe(source)?;
        let expected = expected_digest(f, probe.sha256.as_deref(), source)?;
        jobs.push(Job {
            source: source.clone(),
            url: probe.url,
            size: probe.size,
            part: part_path(&f.dest),
            dest: f.dest.clone(),
            expected,
        });
    }
    Ok(jobs)
}

fn expected_digest(
    f: &PlannedFile,
    hub: Option<&str>,
    source: &Source,
) -> Result<Option<(String, &'static str)>, Failure> {
    match (&f.sha256, hub) {
        (Some(conf), Some(hub)) if conf != hub => Err(Failure::new(
            "pull::sha-mismatch",
            format!(
                "SHA256= of {} is {conf} but {source} has SHA-256 {hub}",
                f.dest.display()
            ),
            "the file on the hub changed: pin the revision (hf://…@COMMIT) or update SHA256",
        )),
        (Some(conf), _) => Ok(Some((conf.clone(), "SHA256"))),
        (None, Some(hub)) => Ok(Some((hub.to_string(), "hub"))),
        (None, None) => Ok(None),
    }
}

/// `NAME.gguf` → `NAME.gguf.part` beside it (same filesystem, so the rename is atomic).
fn part_path(dest: &Path) -> PathBuf {
    let mut name = dest.file_name().unwrap_or_default().to_os_string();
    name.push(".part");
    dest.with_file_name(name)
}

fn check_digest(job: &Job, digest: &str, out: &mut ProfileAction) -> Result<(), Failure> {
    out.sha256.push(digest.to_string());
    let Some((expected, against)) = &job.expected else {
        return Ok(());
    };
    out.verified_against = Some((*against).to_string());
    if digest == expected {
        return Ok(());
    }
    // A corrupt download is never kept, not even for resuming.
    let _ = std::fs::remove_file(&job.part);
    Err(Failure::new(
        "pull::sha-mismatch",
        format!(
            "{} downloaded from {} has SHA-256 {digest}, expected {expected} ({against}); nothing was installed",
            job.dest.display(),
            job.source
        ),
        "run pull again; if it keeps failing the source or SHA256 is wrong",
    ))
}

/// Fetches `job` into its `.part` file, resuming from what is there; returns the SHA-256 hex.
fn fetch(
    job: &Job,
    client: &Client,
    observe: &mut dyn FnMut(Progress),
    received: &mut u64,
    resumed: &mut bool,
) -> Result<String, Failure> {
    let mut file = OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(&job.part)
        .map_err(|e| Failure::io("open", &job.part, &e))?;
    let mut have = file
        .metadata()
        .map_err(|e| Failure::io("read", &job.part, &e))?
        .len();
    if have > job.size {
        file.set_len(0)
            .map_err(|e| Failure::io("truncate", &job.part, &e))?;
        have = 0;
    }
    let mut hasher = Sha256::new();
    if have > 0 {
        *resumed = true;
        hash_prefix(&job.part, have, &mut hasher)?;
    }
    let mut url = job.url.clone();
    let mut last: Option<RemoteError> = None;
    for attempt in 0..ATTEMPTS {
        if have == job.size {
            break;
        }
        if attempt > 0 {
            // The hub's storage URLs are signed and expire: ask again where the bytes are.
            url = client.probe(&job.source).map(|p| p.url).unwrap_or(url);
            *resumed |= have > 0;
        }
        let response = match client.get_range(&url, have, None) {
            Ok((_, r)) => r,
            Err(e @ (RemoteError::Timeout { .. } | RemoteError::Unreachable { .. })) => {
                last = Some(e);
                continue;
            }
            Err(e) => return Err(e.into()),
        };
        let mut body = response.into_body().into_reader().take(job.size - have);
        let mut buf = vec![0u8; COPY_BUF];
        loop {
            let n = match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) => {
                    last = Some(RemoteError::Interrupted {
                        url: url.clone(),
                        reason: e.to_string(),
                    });
                    break;
                }
            };
            file.write_all(&buf[..n])
                .map_err(|e| Failure::io("write", &job.part, &e))?;
            hasher.update(&buf[..n]);
            have += n as u64;
            *received += n as u64;
            observe(Progress::Advance(n as u64));
        }
    }
    if have < job.size {
        let e = last.unwrap_or(RemoteError::Interrupted {
            url,
            reason: format!("the body ended at byte {have} of {}", job.size),
        });
        return Err(Failure::new(
            "pull::interrupted",
            format!(
                "{} stopped at {have} of {} bytes after {ATTEMPTS} attempts: {e}",
                job.dest.display(),
                job.size
            ),
            "run pull again: it resumes from the .part file",
        ));
    }
    file.sync_all()
        .map_err(|e| Failure::io("write", &job.part, &e))?;
    Ok(hex(&hasher.finalize()))
}

fn hash_prefix(path: &Path, len: u64, hasher: &mut Sha256) -> Result<(), Failure> {
    let f = File::open(path).map_err(|e| Failure::io("read", path, &e))?;
    let mut r = f.take(len);
    std::io::copy(&mut r, hasher).map_err(|e| Failure::io("read", path, &e))?;
    Ok(())
}

fn hash_file(path: &Path) -> Result<String, Failure> {
    let mut f = File::open(path).map_err(|e| Failure::io("read", path, &e))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut f, &mut hasher).map_err(|e| Failure::io("read", path, &e))?;
    Ok(hex(&hasher.finalize()))
}

/// `--force` on files that are there: hash each and compare with SHA256= or the hub's digest.
fn verify_present(
    p: &Planned,
    client: &Client,
    out: &mut ProfileAction,
) -> Result<Action, Failure> {
    let mut checked = false;
    for f in &p.files {
        let hub = match (&f.sha256, &f.source) {
            (None, Some(source)) => client.probe(source)?.sha256,
            _ => None,
        };
        let expected = match &f.source {
            Some(source) => expected_digest(f, hub.as_deref(), source)?,
            None => f.sha256.clone().map(|d| (d, "SHA256")),
        };
        let digest = hash_file(&f.dest)?;
        out.sha256.push(digest.clone());
        let Some((expected, against)) = expected else {
            continue;
        };
        checked = true;
        out.verified_against = Some(against.to_string());
        if digest != expected {
            return Err(Failure::new(
                "pull::sha-mismatch",
                format!(
                    "{} has SHA-256 {digest}, expected {expected} ({against})",
                    f.dest.display()
                ),
                "the file is corrupt or a different build: delete it and run pull again",
            ));
        }
    }
    Ok(if checked {
        Action::Verified
    } else {
        Action::Present
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn gib(bytes: u64) -> String {
    format!("{:.2} GiB", bytes as f64 / (1u64 << 30) as f64)
}
