//! What a user's setup can get wrong around the build's flag table (docs/flags.md, "Following
//! your llama-server build"): a rebuilt binary, a corrupt or unusable cache, and paths that are
//! not llama-server (`/bin/echo`, another llama.cpp program, another program's help, a file
//! without the execute bit, a directory, nothing) — each is re-read, or a clear note and the
//! shipped table, never a panic.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::flags_build::{conf, fixture, profilec, real_server, text};
use crate::support;

/// The newer-build fixture copied into `dir`, so the test may touch and rewrite it.
fn own_copy(dir: &Path) -> PathBuf {
    let path = dir.join("llama-server");
    std::fs::copy(fixture("newer-llama-server"), &path).unwrap();
    path
}

/// `flags --from server`: its first line.
fn first_line(cache: &Path, server: &Path) -> String {
    let real = real_server().expect("checked by the caller");
    let out = profilec(
        cache,
        server,
        Some(&real),
        &["flags", "--from", server.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    text(&out.stdout).lines().next().unwrap_or("").to_string()
}

fn entries(cache: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(cache.join("profilec"))
        .map(|d| d.map(|e| e.unwrap().path()).collect())
        .unwrap_or_default()
}

#[test]
fn a_rebuilt_binary_is_read_again_and_replaces_its_cache_entry() {
    let Some(_) = real_server() else { return };
    let t = tempfile::tempdir().expect("tempdir");
    let server = own_copy(t.path());
    let fresh = first_line(t.path(), &server);
    assert!(!fresh.ends_with("(cached)"), "{fresh}");
    let cached = first_line(t.path(), &server);
    assert!(cached.ends_with("(cached)"), "{cached}");
    // Named as given whether read or cached.
    assert_eq!(cached, format!("{fresh} (cached)"));
    // Same size, new mtime: a rebuild.
    let later = SystemTime::now() + Duration::from_secs(60);
    let file = std::fs::File::options().write(true).open(&server).unwrap();
    file.set_modified(later).unwrap();
    drop(file);
    let rebuilt = first_line(t.path(), &server);
    assert!(!rebuilt.ends_with("(cached)"), "mtime changed: {rebuilt}");
    assert_eq!(entries(t.path()).len(), 1, "{:?}", entries(t.path()));
    assert!(first_line(t.path(), &server).ends_with("(cached)"));
}

#[test]
fn a_corrupt_cache_entry_is_read_again() {
    let Some(_) = real_server() else { return };
    let t = tempfile::tempdir().expect("tempdir");
    let server = own_copy(t.path());
    first_line(t.path(), &server);
    let [entry] = entries(t.path()).try_into().expect("one entry");
    let whole = std::fs::read(&entry).unwrap();
    for corrupt in [&whole[..300], b"\xff\xfe not a cache\n", b""] {
        std::fs::write(&entry, corrupt).unwrap();
        let line = first_line(t.path(), &server);
        assert!(line.contains("llama-server b12000"), "{line}");
        assert!(!line.ends_with("(cached)"), "{line}");
    }
    assert!(first_line(t.path(), &server).ends_with("(cached)"));
}

#[test]
fn an_unusable_cache_directory_only_costs_a_rerun() {
    let Some(real) = real_server() else { return };
    let t = tempfile::tempdir().expect("tempdir");
    // $XDG_CACHE_HOME is a file: nothing can be created under it.
    let cache = t.path().join("not-a-dir");
    std::fs::write(&cache, "x").unwrap();
    let server = own_copy(t.path());
    for _ in 0..2 {
        let line = first_line(&cache, &server);
        assert!(line.contains("llama-server b12000"), "{line}");
        assert!(!line.ends_with("(cached)"), "{line}");
    }
    let conf = conf(t.path());
    let out = profilec(
        &cache,
        &server,
        Some(&real),
        &["check", conf.to_str().unwrap()],
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("flags: the options of llama-server b12000"),
        "{stderr}"
    );
    assert!(stderr.contains("`-nkvo` is not an option"), "{stderr}");
}

#[test]
fn paths_that_are_not_llama_server_are_a_clear_note_and_the_shipped_table() {
    let t = tempfile::tempdir().expect("tempdir");
    let not_executable = t.path().join("llama-server.txt");
    std::fs::write(&not_executable, "#!/bin/sh\n").unwrap();
    // Another program's help: options, but not in llama.cpp's layout and no --port.
    let other = t.path().join("other-tool");
    let options: String = (0..30)
        .map(|i| format!("-{i}x     : option {i}\\n"))
        .collect();
    std::fs::write(
        &other,
        format!("#!/bin/sh\nprintf 'usage: tool\\n{options}'\n"),
    )
    .unwrap();
    let executable = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(&other, executable).unwrap();
    // (path, what `flags --from` says, what `check` says: the search `start` does, in
    // src/launch/discover.rs, refuses what it cannot run before profilec tries)
    let mut cases = vec![
        (
            PathBuf::from("/bin/echo"),
            "is not llama-server's help",
            None,
        ),
        (
            not_executable.clone(),
            "the file is not executable (chmod +x",
            Some(format!(
                "{} is not an executable file",
                not_executable.display()
            )),
        ),
        (
            t.path().to_path_buf(),
            "it is a directory, not a program",
            Some(format!("{} is not an executable file", t.path().display())),
        ),
        (
            t.path().join("missing"),
            "no such file",
            Some("llama-server from $LLAMA_SERVER not found".to_string()),
        ),
        (other, "another program's help, not llama.cpp's", None),
    ];
    if let Some(completion) = support::real_completion() {
        cases.push((
            completion,
            "a llama.cpp program's help but has no `--port`",
            None,
        ));
    }
    let conf = conf(t.path());
    for (path, why, check_why) in cases {
        let out = profilec(
            t.path(),
            &path,
            None,
            &["flags", "--from", path.to_str().unwrap()],
        );
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {stderr}", path.display());
        assert!(stderr.contains(why), "{}: {stderr}", path.display());
        assert!(stderr.contains("shipped flag table"), "{stderr}");

        let out = profilec(t.path(), &path, None, &["check", conf.to_str().unwrap()]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{}: {stderr}", path.display());
        let why = check_why.as_deref().unwrap_or(why);
        assert!(
            stderr.contains("flags: the shipped flag table (llama.cpp b11434): ")
                && stderr.contains(why),
            "{}: {stderr}",
            path.display()
        );
        assert!(stderr.contains("unknown flag `--kv-compress`"), "{stderr}");
    }
}

#[test]
fn a_binary_that_failed_is_not_run_again_until_it_changes_or_flags_from_asks() {
    // A wrapper that hangs on --help cost its 10 s timeout on every `check` (a pre-commit
    // hook): the failure is remembered for the unchanged binary.
    let t = tempfile::tempdir().expect("tempdir");
    let runs = t.path().join("runs");
    let server = t.path().join("llama-server");
    std::fs::write(
        &server,
        format!(
            "#!/bin/sh\necho run >> '{}'\necho 'no options here'\n",
            runs.display()
        ),
    )
    .unwrap();
    let mut perms = std::fs::metadata(&server).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
    std::fs::set_permissions(&server, perms).unwrap();
    let conf = conf(t.path());
    let count = || {
        std::fs::read_to_string(&runs)
            .map(|s| s.lines().count())
            .unwrap_or(0)
    };
    let check =
        || text(&profilec(t.path(), &server, None, &["check", conf.to_str().unwrap()]).stderr);

    let first = check();
    assert!(first.contains("is not llama-server's help"), "{first}");
    assert!(!first.contains("remembered"), "{first}");
    let after_first = count();
    assert!(after_first > 0, "the binary ran");

    let second = check();
    assert!(second.contains("is not llama-server's help"), "{second}");
    assert!(second.contains("remembered"), "{second}");
    assert!(second.contains("flags: the shipped flag table"), "{second}");
    assert_eq!(
        count(),
        after_first,
        "the unchanged binary is not run again"
    );

    let from = profilec(
        t.path(),
        &server,
        None,
        &["flags", "--from", server.to_str().unwrap()],
    );
    assert_eq!(from.status.code(), Some(1));
    assert!(
        !text(&from.stderr).contains("remembered"),
        "{}",
        text(&from.stderr)
    );
    let after_from = count();
    assert!(after_from > after_first, "flags --from runs it again");

    let later = SystemTime::now() + Duration::from_secs(60);
    let file = std::fs::File::options().write(true).open(&server).unwrap();
    file.set_modified(later).unwrap();
    drop(file);
    let rebuilt = check();
    assert!(!rebuilt.contains("remembered"), "{rebuilt}");
    assert!(count() > after_from, "a changed binary is run again");
}
