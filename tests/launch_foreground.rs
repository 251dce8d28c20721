//! Foreground mode on a real llama-server: signals sent to profilec reach the server, and the
//! server's exit status comes back. One test function, because signal handlers are
//! process-wide and two foreground launches in parallel would both see every signal.

use crate::launch_support;

use std::time::{Duration, Instant};

use launch_support::{free_port, gemma_spec, quick_options, real_parts};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use profilec::launch::{self, LaunchOutcome, Mode};

fn signal_self_when(sig: Signal, ready: impl Fn() -> bool + Send + 'static) {
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        while !ready() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        kill(Pid::this(), sig).unwrap();
    });
}

#[test]
fn foreground_forwards_signals_and_returns_the_server_status() {
    let Some((server, model)) = real_parts() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();

    // Ctrl-C after the server is up: llama-server shuts down cleanly and exits 0.
    let port = free_port();
    let mut opts = quick_options(&dir.path().join("fg.log"));
    opts.mode = Mode::Foreground;
    signal_self_when(Signal::SIGINT, move || {
        launch::http::get("127.0.0.1", port, "/health", Duration::from_secs(1))
            .is_ok_and(|r| r.status == 200)
    });
    let outcome = launch::launch(&gemma_spec(&server, &model, port), &opts).unwrap();
    let LaunchOutcome::Exited(exit) = outcome else {
        panic!("foreground mode returns the exit")
    };
    assert_eq!(exit.code, 0);
    assert!(exit.was_ready);
    assert_eq!(exit.forwarded, Some(Signal::SIGINT));
    let log = std::fs::read_to_string(dir.path().join("fg.log")).unwrap();
    assert!(log.contains("cleaning up before exit"), "{log}");

    // SIGTERM while the model loads: no startup error, the server's own status comes back.
    let port = free_port();
    let log_path = dir.path().join("fg-term.log");
    let mut opts = quick_options(&log_path);
    opts.mode = Mode::Foreground;
    let watched = log_path.clone();
    signal_self_when(Signal::SIGTERM, move || {
        std::fs::read_to_string(&watched).is_ok_and(|l| l.contains("loading model"))
    });
    let started = Instant::now();
    let outcome = launch::launch(&gemma_spec(&server, &model, port), &opts).unwrap();
    let LaunchOutcome::Exited(exit) = outcome else {
        panic!("foreground mode returns the exit")
    };
    eprintln!(
        "SIGTERM while loading: {exit:?} after {:?}",
        started.elapsed()
    );
    assert_eq!(exit.forwarded, Some(Signal::SIGTERM));
    assert!(!exit.was_ready);
    assert_eq!(exit.code, launch::exit_code(exit.status));
}
