//! The 23 real versions of one user's models.conf all ran in real life: none may have an error,
//! and every one must print back byte for byte.

use std::fs;
use std::path::PathBuf;

use profilec::check::check_source;
use profilec::diag::Severity;
use profilec::syntax::Document;

fn corpus() -> Vec<(PathBuf, String)> {
    crate::support::corpus_files()
        .into_iter()
        .map(|p| {
            let text = fs::read_to_string(&p).expect("utf-8 fixture");
            (p, text)
        })
        .collect()
}

#[test]
fn corpus_has_all_23_versions() {
    assert_eq!(corpus().len(), 23);
}

#[test]
fn every_corpus_file_checks_without_errors() {
    for (path, text) in corpus() {
        let report = check_source(text, None);
        let errors: Vec<_> = report
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .map(|d| format!("{} {}", d.code, d.message))
            .collect();
        assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
        assert!(!report.conf.profiles.is_empty(), "{}", path.display());
    }
}

#[test]
fn every_corpus_file_round_trips() {
    for (path, text) in corpus() {
        assert_eq!(
            Document::parse(text.clone()).print(),
            text,
            "{}",
            path.display()
        );
    }
}

#[test]
fn commented_out_profiles_are_comments() {
    // HEAD keeps retired profiles as `# [gpt-oss-120b]` blocks.
    let (_, text) = corpus()
        .into_iter()
        .find(|(p, _)| p.ends_with("models.conf.e22d85d"))
        .expect("HEAD version");
    let report = check_source(text, None);
    let ids: Vec<_> = report
        .conf
        .profiles
        .iter()
        .map(|p| p.id.value.as_str())
        .collect();
    assert!(!ids.contains(&"gpt-oss-120b"), "{ids:?}");
    assert!(ids.contains(&"glm-flash-q4"));
    let q4 = report.conf.profile("glm-flash-q4").expect("glm-flash-q4");
    assert_eq!(q4.ctx_size.as_ref().map(|c| c.value), Some(131072));
    assert_eq!(
        q4.model.as_ref().map(|m| m.value.as_str()),
        Some("GLM-4.7-Flash/GLM-4.7-Flash-Q4_K_M.gguf")
    );
}
