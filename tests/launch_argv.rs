//! The process side without a model: argv reaches the program literally, output lands in the
//! log, and dead or silent "servers" end in typed errors within their timeouts.

use crate::launch_support;

use std::path::Path;
use std::time::{Duration, Instant};

use launch_support::{free_port, process_alive};
use profilec::launch::{self, LaunchOptions, LaunchSpec, LogOptions};

const PRINTF: &str = "/usr/bin/printf";

fn hostile_args(marker_dir: &Path) -> Vec<String> {
    let m = marker_dir.display();
    vec![
        format!("$(touch {m}/dollar)"),
        format!("`touch {m}/backtick`"),
        ";".to_owned(),
        format!("; touch {m}/semi"),
        "a b".to_owned(),
        "'single'".to_owned(),
        "\"double\"".to_owned(),
        "&& | > *".to_owned(),
    ]
}

#[test]
fn argv_reaches_the_program_literally() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = hostile_args(dir.path());
    let mut args = vec!["%s\\n".to_owned()];
    args.extend(hostile.iter().cloned());
    let log = LogOptions {
        path: dir.path().join("printf.log"),
        tee: false,
        own_process_group: false,
    };
    let mut child = launch::spawn_logged(Path::new(PRINTF), &args, &log).unwrap();
    let status = child
        .wait_timeout(Duration::from_secs(10))
        .unwrap()
        .unwrap();
    assert!(status.success());
    let out = std::fs::read_to_string(&log.path).unwrap();
    // One line per argument, byte for byte: no splitting, no expansion, no substitution.
    assert_eq!(out.lines().collect::<Vec<_>>(), hostile);
    for f in ["dollar", "backtick", "semi"] {
        assert!(!dir.path().join(f).exists(), "a shell ran `{f}`");
    }
}

#[test]
fn tee_still_writes_the_whole_log() {
    let dir = tempfile::tempdir().unwrap();
    let log = LogOptions {
        path: dir.path().join("tee.log"),
        tee: true,
        own_process_group: false,
    };
    let args: Vec<String> = ["%s\\n", "out-1", "out-2"].map(str::to_owned).to_vec();
    let mut child = launch::spawn_logged(Path::new(PRINTF), &args, &log).unwrap();
    assert!(
        child
            .wait_timeout(Duration::from_secs(10))
            .unwrap()
            .unwrap()
            .success()
    );
    assert_eq!(
        std::fs::read_to_string(&log.path).unwrap(),
        "out-1\nout-2\n"
    );
    assert_eq!(child.log_tail(1), vec!["out-2".to_owned()]);
}

#[test]
fn a_server_that_exits_at_once_is_an_error_with_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let mut args = vec!["%s\\n".to_owned()];
    args.extend(hostile_args(dir.path()));
    args.extend(["--port".to_owned(), free_port().to_string()]);
    let spec = LaunchSpec::from_argv(PRINTF, args).unwrap();
    let mut opts = LaunchOptions::new(dir.path().join("x.log"));
    opts.health_timeout = Duration::from_secs(20);
    let started = Instant::now();
    let err = launch::launch(&spec, &opts).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(err.code(), "launch::exited-during-startup");
    let msg = err.to_string();
    assert!(msg.starts_with("/usr/bin/printf exited while loading (exit code 0); last lines of "));
    assert!(
        msg.contains(&format!("  | $(touch {}/dollar)", dir.path().display())),
        "{msg}"
    );
    assert!(!dir.path().join("dollar").exists());
}

#[test]
fn a_server_that_never_answers_times_out_and_is_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // A "server" that never listens: it prints its pid, then sleeps in the same process.
    let args = ["-c", "echo $$; exec sleep 30"].map(str::to_owned).to_vec();
    let mut spec = LaunchSpec::from_argv("/bin/sh", args).unwrap();
    spec.port = port;
    let mut opts = LaunchOptions::new(dir.path().join("sleep.log"));
    opts.health_timeout = Duration::from_millis(400);
    opts.poll_interval = Duration::from_millis(50);
    opts.stop_grace = Duration::from_millis(300);
    let phases = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let sink = std::sync::Arc::clone(&phases);
    opts.progress = Some(std::sync::Arc::new(move |p: &launch::Progress| {
        sink.lock().unwrap().push(p.phase);
    }));
    let started = Instant::now();
    let err = launch::launch(&spec, &opts).unwrap_err();
    let took = started.elapsed();
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert_eq!(err.code(), "launch::health-timeout");
    let launch::LaunchError::HealthTimeout { url, last, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(url, &format!("http://127.0.0.1:{port}/health"));
    assert!(last.contains("refused"), "{last}");
    assert!(
        err.to_string()
            .starts_with(&format!("{url} did not answer 200 within 0.4s (last: "))
    );
    let phases = phases.lock().unwrap();
    assert!(!phases.is_empty());
    assert!(phases.iter().all(|p| *p == launch::Phase::Connecting));
    let launch::LaunchError::HealthTimeout { log_tail, .. } = &err else {
        unreachable!()
    };
    let pid: u32 = log_tail.first().and_then(|l| l.parse().ok()).unwrap();
    assert!(
        !process_alive(pid),
        "the silent server {pid} was left running"
    );
}

#[test]
fn stop_escalates_to_sigkill_when_sigint_is_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let log = LogOptions {
        path: dir.path().join("stubborn.log"),
        tee: false,
        own_process_group: false,
    };
    let args = ["-c", "trap '' INT; echo ready; sleep 30"]
        .map(str::to_owned)
        .to_vec();
    let mut child = launch::spawn_logged(Path::new("/bin/sh"), &args, &log).unwrap();
    let pid = child.pid();
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::fs::read_to_string(&log.path)
        .unwrap_or_default()
        .is_empty()
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    let started = Instant::now();
    let status = child.stop(Duration::from_millis(200)).unwrap();
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(launch::describe_status(status), "signal 9 (SIGKILL)");
    assert_eq!(launch::exit_code(status), 137);
    assert!(!process_alive(pid));
}

#[test]
fn an_unwritable_log_is_an_io_error_before_spawning() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("file");
    std::fs::write(&blocker, "").unwrap();
    let marker = dir.path().join("ran");
    let args = ["-c", &format!("touch {}", marker.display()), "--port"]
        .map(str::to_owned)
        .into_iter()
        .chain([free_port().to_string()])
        .collect();
    let spec = LaunchSpec::from_argv("/bin/sh", args).unwrap();
    // A log "directory" that is a regular file.
    let err = launch::launch(&spec, &LaunchOptions::new(blocker.join("x.log"))).unwrap_err();
    assert_eq!(err.code(), "launch::log-file");
    assert_eq!(err.exit_code(), 2);
    let d = err.to_diagnostic();
    assert_eq!(
        (d.code, d.help.as_deref()),
        (
            "launch::log-file",
            Some("choose a log path in a writable directory")
        )
    );
    assert!(!marker.exists(), "nothing was spawned");
}
