//! Hostile input, concurrent edits and process faults (issue 12): each test is named after the
//! finding it pins down — no panic, no runaway, no lost edit.

use crate::fuzz_support::gguf_values::{integer_values, patched};
use crate::support;

use crate::support::profilec_in as run;
use crate::support::stderr_of as stderr;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

fn no_panic(o: &Output, what: &str) {
    let code = o.status.code();
    assert!(
        matches!(code, Some(0..=2)),
        "{what}: exit {code:?}\n{}",
        stderr(o)
    );
    assert!(!stderr(o).contains("panicked"), "{what}: {}", stderr(o));
}

fn conf_dir(text: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("models.conf"), text).expect("models.conf");
    dir
}

#[test]
fn diagnostic_past_column_65535_renders_without_panic() {
    let long = "-c 4096 ".repeat(8250);
    let dir = conf_dir(&format!(
        "[a]\nNAME=A\nMODEL=a.gguf\nEXTRA_ARGS={long}--bogus-flag 3\n"
    ));
    for args in [
        &["check", "models.conf"][..],
        &["render", "a", "models.conf"],
        &["start", "a", "models.conf", "--dry-run"],
    ] {
        let o = run(args, dir.path());
        no_panic(&o, &args.join(" "));
    }
    let o = run(&["check", "models.conf"], dir.path());
    let err = stderr(&o);
    // The header keeps the true position; the excerpt is cut around it.
    let col = "EXTRA_ARGS=".len() + long.len() + 1;
    assert!(err.contains(&format!("models.conf:4:{col}]")), "{err}");
    assert!(err.lines().all(|l| l.chars().count() < 300), "uncut line");
}

#[test]
fn twenty_thousand_ot_rules_render_without_panic() {
    let rules: Vec<String> = (0..20_000)
        .map(|i| format!("-ot blk\\.{i}\\.ffn=CPU"))
        .collect();
    let dir = conf_dir(&format!(
        "[a]\nNAME=A\nMODEL=a.gguf\nEXTRA_ARGS={} --bogus\n",
        rules.join(" ")
    ));
    no_panic(&run(&["check", "models.conf"], dir.path()), "check");
}

#[test]
fn check_time_is_linear_in_the_number_of_diagnostics() {
    let file = |n: usize| {
        (0..n)
            .map(|i| format!("[p{i}]\nNAME=P{i}\nMODEL=a.gguf\nEXTRA_ARGS=--bogus-{i} 3\n\n"))
            .collect::<String>()
    };
    let time = |n: usize| {
        let dir = conf_dir(&file(n));
        let t = Instant::now();
        let o = run(&["check", "models.conf"], dir.path());
        assert_eq!(o.status.code(), Some(1));
        assert!(stderr(&o).contains(&format!("{n} profiles, {n} errors")));
        t.elapsed()
    };
    let small = time(1_000);
    let large = time(8_000);
    // 8x the diagnostics: linear is ~8x; the quadratic renderer took ~64x. Generous for a
    // shared CPU.
    assert!(
        large < small * 24 + Duration::from_secs(2),
        "1,000 diagnostics: {small:?}, 8,000: {large:?}"
    );
}

#[test]
fn lone_cr_line_numbers_agree_between_human_and_json() {
    let dir = conf_dir("[a]\nNAME=A\nMODEL=a.gguf\nDESCRIPTION=x\ry\nEXTRA_ARGS=--bogus\n");
    let human = stderr(&run(&["check", "models.conf"], dir.path()));
    assert!(human.contains("models.conf:5:12]"), "{human}");
    assert!(
        human.contains("x\u{240d}y"),
        "CR shown as a control picture: {human}"
    );
    let json = run(&["check", "models.conf", "--format", "json"], dir.path());
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    let d = &v["diagnostics"][0];
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(5), Some(12))
    );
}

#[test]
fn ctx_size_beyond_a_32_bit_int_is_an_error_in_both_spellings() {
    let dir = conf_dir(
        "[a]\nNAME=A\nMODEL=a.gguf\nCTX_SIZE=18446744073709551615\n\n\
         [b]\nNAME=B\nMODEL=a.gguf\nEXTRA_ARGS=-c 99999999999\n",
    );
    let o = run(&["check", "models.conf"], dir.path());
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("larger than llama-server accepts"), "{err}");
    assert!(err.contains("out of range"), "{err}");
    assert!(!err.contains("is not an integer"), "{err}");
}

#[test]
fn fit_target_empty_item_warns() {
    let dir = conf_dir("[a]\nNAME=A\nMODEL=a.gguf\nFIT_TARGET=128,,1024\n");
    let err = stderr(&run(&["check", "models.conf"], dir.path()));
    assert!(err.contains("conf::empty-list-item"), "{err}");
}

#[test]
fn mark_tested_refuses_an_empty_speed() {
    let text = "# NOT YET TESTED\n[a]\nNAME=A\nMODEL=a.gguf\n";
    let dir = conf_dir(text);
    let o = run(
        &["mark-tested", "a", "--speed", "", "models.conf"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert_eq!(
        fs::read_to_string(dir.path().join("models.conf")).unwrap(),
        text
    );
}

#[test]
fn read_only_models_conf_is_refused_and_kept() {
    use std::os::unix::fs::PermissionsExt;
    let text = "# NOT YET TESTED\n[a]\nNAME=A\nMODEL=a.gguf\n";
    let dir = conf_dir(text);
    let conf = dir.path().join("models.conf");
    fs::set_permissions(&conf, fs::Permissions::from_mode(0o444)).unwrap();
    let o = run(
        &["mark-tested", "a", "--speed", "~1 t/s", "models.conf"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is read-only"), "{}", stderr(&o));
    assert_eq!(fs::read_to_string(&conf).unwrap(), text);
    // A writable file keeps its mode through the rename.
    fs::set_permissions(&conf, fs::Permissions::from_mode(0o640)).unwrap();
    let o = run(
        &["mark-tested", "a", "--speed", "~1 t/s", "models.conf"],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mode = fs::metadata(&conf).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
}

/// Twenty profilec processes started at once in `dir`, process `i` with `args(i)`.
fn concurrently(dir: &Path, args: impl Fn(usize) -> Vec<String>) -> Vec<Output> {
    let children: Vec<_> = (0..20)
        .map(|i| {
            support::profilec()
                .args(args(i))
                .current_dir(dir)
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        })
        .collect();
    children
        .into_iter()
        .map(|c| c.wait_with_output().expect("wait"))
        .collect()
}

/// Every process either landed its change or said "file changed, retry".
fn assert_no_silent_loss(outs: &[Output], landed: impl Fn(usize) -> bool) {
    for (i, o) in outs.iter().enumerate() {
        match o.status.code() {
            Some(0) => assert!(landed(i), "process {i} exited 0 but its change is missing"),
            Some(2) => assert!(
                stderr(o).contains("file changed, retry"),
                "process {i}: {}",
                stderr(o)
            ),
            c => panic!("process {i}: exit {c:?}: {}", stderr(o)),
        }
    }
}

#[test]
fn twenty_concurrent_mark_tested_never_lose_an_edit() {
    let text: String = (0..20)
        .map(|i| format!("# NOT YET TESTED\n[p{i}]\nNAME=P{i}\nMODEL=a.gguf\n\n"))
        .collect();
    let dir = conf_dir(&text);
    let outs = concurrently(dir.path(), |i| {
        vec![
            "mark-tested".into(),
            format!("p{i}"),
            "--speed".into(),
            format!("~{i} t/s"),
            "models.conf".into(),
        ]
    });
    let after = fs::read_to_string(dir.path().join("models.conf")).unwrap();
    assert_no_silent_loss(&outs, |i| after.contains(&format!("SPEED=~{i} t/s\n")));
}

#[test]
fn twenty_concurrent_new_never_lose_a_profile() {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    fs::create_dir_all(&models).unwrap();
    fs::copy(support::fixture("llama-gqa.gguf"), models.join("m.gguf")).unwrap();
    fs::write(
        dir.path().join("profilec.toml"),
        format!(
            "[cpu]\nram_mib = 8192\n\n[runtime]\nmodels_dir = \"{}\"\n",
            models.display()
        ),
    )
    .unwrap();
    fs::write(
        dir.path().join("models.conf"),
        "[x]\nNAME=X\nMODEL=m.gguf\n",
    )
    .unwrap();
    let model = models.join("m.gguf").display().to_string();
    let outs = concurrently(dir.path(), |i| {
        [
            "new",
            "--id",
            &format!("n{i}"),
            "--file",
            "models.conf",
            &model,
        ]
        .map(String::from)
        .to_vec()
    });
    let after = fs::read_to_string(dir.path().join("models.conf")).unwrap();
    assert_no_silent_loss(&outs, |i| after.contains(&format!("[n{i}]")));
}

// ---- hostile GGUF hyper-parameters ------------------------------------------------------

/// Runs profilec under a 4 GiB address-space limit (`prlimit`), killed after 10 s.
fn limited(args: &[&str], dir: &Path) -> Option<i32> {
    support::limited(args, dir, 4 << 30, Duration::from_secs(10))
}

fn hostile_dir(model: &[u8]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("models")).unwrap();
    fs::write(dir.path().join("models/m.gguf"), model).unwrap();
    // models_dir pointed at the model, so `check` reads it (the pre-commit path).
    support::write_rig_toml(
        dir.path(),
        "profiles/profilec.toml",
        &dir.path().join("models"),
    );
    fs::write(
        dir.path().join("models.conf"),
        "[m]\nNAME=M\nMODEL=m.gguf\nCTX_SIZE=4096\n",
    )
    .unwrap();
    dir
}

#[test]
fn expert_used_count_beyond_experts_is_a_typed_error_naming_the_key() {
    let b = fs::read(support::fixture("qwen3moe.gguf")).unwrap();
    let (_, ty, at, n) = integer_values(&b)
        .into_iter()
        .find(|(k, ..)| k == "qwen3moe.expert_used_count")
        .expect("key");
    let dir = hostile_dir(&patched(&b, ty, at, n, u64::from(u32::MAX)));
    for args in [
        &["inspect", "models/m.gguf"][..],
        &[
            "plan",
            "--model",
            "models/m.gguf",
            "--hardware",
            "profilec.toml",
        ],
    ] {
        let o = run(args, dir.path());
        assert_eq!(o.status.code(), Some(1), "{args:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("expert_used_count"), "{}", stderr(&o));
    }
    let check = run(&["check", "models.conf"], dir.path());
    assert_eq!(check.status.code(), Some(1), "{}", stderr(&check));
    assert!(
        stderr(&check).contains("expert_used_count"),
        "{}",
        stderr(&check)
    );
}

#[test]
fn sweep_of_every_integer_hyper_parameter_never_aborts_under_4_gib_and_10_s() {
    let mut fixtures: Vec<PathBuf> = fs::read_dir(support::root().join("models"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "gguf"))
        .filter(|p| {
            !p.to_string_lossy().contains("-of-0000") || p.to_string_lossy().contains("00001-of")
        })
        .collect();
    fixtures.sort();
    let skip = |k: &str| {
        k.starts_with("tokenizer.")
            || k.starts_with("split.")
            || k == "general.alignment"
            || k == "general.quantization_version"
    };
    let mut cases = Vec::new();
    for f in &fixtures {
        let b = fs::read(f).unwrap();
        for (key, ty, at, n) in integer_values(&b).into_iter().filter(|v| !skip(&v.0)) {
            // 10^8: the value that ran `plan` for 68 s to 24 GB in the issue.
            for v in [0, 1, 100_000_000, (1u64 << 31) - 1, (1u64 << 32) - 1] {
                cases.push((f.clone(), key.clone(), v, patched(&b, ty, at, n, v)));
            }
        }
    }
    assert!(cases.len() > 200, "{} cases", cases.len());
    let failures = std::sync::Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((f, key, v, bytes)) = cases.get(i) else {
                        break;
                    };
                    let dir = hostile_dir(bytes);
                    for args in [
                        &[
                            "plan",
                            "--model",
                            "models/m.gguf",
                            "--hardware",
                            "profilec.toml",
                        ][..],
                        &["check", "models.conf"],
                    ] {
                        let code = limited(args, dir.path());
                        if !matches!(code, Some(0..=2)) {
                            failures.lock().unwrap().push(format!(
                                "{} {key}={v} {}: {code:?}",
                                f.display(),
                                args[0]
                            ));
                        }
                    }
                }
            });
        }
    });
    let failures = failures.into_inner().unwrap();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `plan --model models/m.gguf -- EXTRA` in `dir`.
fn plan_with(extra: &[&str], dir: &Path) -> Output {
    let mut args = vec![
        "plan",
        "--model",
        "models/m.gguf",
        "--hardware",
        "profilec.toml",
        "--",
    ];
    args.extend_from_slice(extra);
    run(&args, dir)
}

#[test]
fn plan_refuses_parallel_beyond_256_and_a_context_beyond_the_model() {
    let dir = hostile_dir(&fs::read(support::fixture("llama-gqa.gguf")).unwrap());
    for (extra, said) in [
        (
            &["-np", "100000", "-c", "100000000"][..],
            "--parallel 100000",
        ),
        (&["-c", "1000000000"], "--ctx-size 1000000000"),
    ] {
        let o = plan_with(extra, dir.path());
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(stderr(&o).contains(said), "{}", stderr(&o));
        assert!(!String::from_utf8_lossy(&o.stdout).contains("17592186044416"));
    }
}

#[test]
fn plan_with_a_bogus_flag_or_bad_value_is_refused_not_planned_with_defaults() {
    let dir = hostile_dir(&fs::read(support::fixture("llama-gqa.gguf")).unwrap());
    for extra in [["--bogus", "5"], ["-c", "abc"]] {
        let o = plan_with(&extra, dir.path());
        assert!(
            matches!(o.status.code(), Some(1 | 2)),
            "{extra:?}: {}",
            stderr(&o)
        );
        assert!(
            !String::from_utf8_lossy(&o.stdout).contains("fits"),
            "{extra:?}"
        );
    }
}

#[test]
fn plan_and_inspect_give_the_same_exit_code_for_a_non_gguf_file() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("x.gguf"), "# not a model\n").unwrap();
    let inspect = run(&["inspect", "x.gguf"], dir.path());
    let plan = run(&["plan", "--model", "x.gguf"], dir.path());
    assert_eq!(inspect.status.code(), Some(1));
    assert_eq!(
        plan.status.code(),
        inspect.status.code(),
        "{}",
        stderr(&plan)
    );
}

// ---- start: process faults --------------------------------------------------------------

fn start_dir(port: u16) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    fs::create_dir_all(&models).unwrap();
    fs::copy(support::fixture("llama-gqa.gguf"), models.join("m.gguf")).unwrap();
    fs::write(
        dir.path().join("models.conf"),
        "[m]\nNAME=M\nMODEL=m.gguf\nCTX_SIZE=512\nEXTRA_ARGS=-np 1 -t 1\n",
    )
    .unwrap();
    fs::write(
        dir.path().join("profilec.toml"),
        format!(
            "[cpu]\nram_mib = 8192\n\n[runtime]\nmodels_dir = \"{}\"\nhost = \"127.0.0.1\"\nport = {port}\n",
            models.display()
        ),
    )
    .unwrap();
    dir
}

#[test]
fn start_with_the_port_taken_records_no_observation_from_the_previous_log() {
    if support::real_server().is_none() {
        return;
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = start_dir(port);
    // The previous run's log, which a refused launch must not read as its own.
    let logs = dir.path().join(".profilec/logs");
    fs::create_dir_all(&logs).unwrap();
    fs::copy(
        support::test_fixture("logs/gemma3-270m_server_lv4.log"),
        logs.join("m.log"),
    )
    .unwrap();
    let o = run(&["start", "m", "models.conf", "--quiet"], dir.path());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("already in use"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("plan vs measured"), "{}", stderr(&o));
    assert!(!dir.path().join(".profilec/observed.jsonl").exists());
    drop(listener);
}

#[test]
fn server_dies_when_profilec_start_is_killed_with_sigkill() {
    if support::real_server().is_none() {
        return;
    }
    let port = support::free_port();
    let dir = start_dir(port);
    let mut child = support::profilec()
        .args(["start", "m", "models.conf", "--quiet", "--timeout", "120"])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("profilec start");
    let healthy = |t: Duration| {
        profilec::launch::http::get("127.0.0.1", port, "/health", t).is_ok_and(|r| r.status == 200)
    };
    let t = Instant::now();
    while !healthy(Duration::from_millis(500)) {
        assert!(
            t.elapsed() < Duration::from_secs(120),
            "server never became healthy"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "profilec start exited early"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    child.kill().unwrap(); // SIGKILL: no handler runs
    child.wait().unwrap();
    let t = Instant::now();
    let mut freed = false;
    while t.elapsed() < Duration::from_secs(15) {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            freed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(
        freed,
        "llama-server still holds port {port} after profilec was killed"
    );
}

// ---- smaller findings: refused launches, control bytes, bench twins ---------------------

/// A conf dir with the fixture `model` in models/ (the default MODEL directory).
fn model_dir(model: &str, conf: &str) -> tempfile::TempDir {
    let dir = conf_dir(conf);
    fs::create_dir_all(dir.path().join("models")).unwrap();
    fs::copy(
        support::fixture(model),
        dir.path().join("models").join(model),
    )
    .unwrap();
    dir
}

#[test]
fn q8_0_k_cache_on_a_head_size_not_a_multiple_of_32_is_an_error_before_launch() {
    // llama-gqa's heads are 16 wide; q8_0 blocks are 32 (llama-server exits 1 with
    // "K cache type q8_0 with block size 32 does not divide n_embd_head_k=16").
    let dir = model_dir(
        "llama-gqa.gguf",
        "[a]\nNAME=A\nMODEL=llama-gqa.gguf\nEXTRA_ARGS=-ctk q8_0\n\n\
         [b]\nNAME=B\nMODEL=llama-gqa.gguf\nEXTRA_ARGS=-ctk q8_0 -fa off\n",
    );
    let o = run(&["check", "models.conf", "--format", "json"], dir.path());
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(out.matches("model::kv-block-size").count(), 1, "{out}");
    assert!(out.contains("do not divide the head size 16"), "{out}");
    // The error sits on profile a's `-ctk` (line 4); b turns flash attention off, which llama.cpp
    // accepts.
    let human = run(&["check", "models.conf"], dir.path());
    assert!(
        stderr(&human).contains("models.conf:4:"),
        "{}",
        stderr(&human)
    );
    let plan = run(
        &[
            "plan",
            "--model",
            "models/llama-gqa.gguf",
            "--",
            "-ctk",
            "q8_0",
        ],
        dir.path(),
    );
    assert_eq!(plan.status.code(), Some(1), "{}", stderr(&plan));
    assert!(stderr(&plan).contains("do not divide"), "{}", stderr(&plan));
}

#[test]
fn render_sh_refuses_control_bytes_in_values() {
    let dir = model_dir(
        "llama-gqa.gguf",
        "[a]\nNAME=A\nMODEL=llama-gqa.gguf\nEXTRA_ARGS=--alias a\u{1b}[31mred\n",
    );
    let sh = run(
        &["render", "a", "models.conf", "--format", "sh"],
        dir.path(),
    );
    assert_eq!(sh.status.code(), Some(1), "{}", stderr(&sh));
    assert!(!sh.stdout.contains(&0x1b), "ESC reached stdout");
    assert!(!sh.stderr.contains(&0x1b), "ESC reached stderr");
    assert!(stderr(&sh).contains("U+001B"), "{}", stderr(&sh));
    assert!(stderr(&sh).contains("--alias"), "{}", stderr(&sh));
    let json = run(
        &["render", "a", "models.conf", "--format", "json"],
        dir.path(),
    );
    assert_eq!(json.status.code(), Some(0), "{}", stderr(&json));
    assert!(String::from_utf8_lossy(&json.stdout).contains("\\u001b"));
}

#[test]
fn new_bench_twin_stays_within_the_trained_context() {
    let dir = model_dir("llama-gqa.gguf", "[x]\nNAME=X\nMODEL=llama-gqa.gguf\n");
    let o = run(
        &[
            "new",
            "--bench",
            "--id",
            "t",
            "--file",
            "models.conf",
            "models/llama-gqa.gguf",
        ],
        dir.path(),
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = fs::read_to_string(dir.path().join("models.conf")).unwrap();
    let twin = &text[text.find("[bench-t]").expect("twin written")..];
    // llama-gqa is trained on 4096 tokens: the usual 10K twin would warn in its own file.
    assert!(twin.contains("CTX_SIZE=4096\n"), "{twin}");
    let check = run(&["check", "models.conf", "--format", "json"], dir.path());
    let out = String::from_utf8_lossy(&check.stdout);
    assert!(!out.contains("model::ctx-above-trained"), "{out}");
}

#[test]
fn thousand_alternating_cpu_and_device_ot_rules_check_without_runaway() {
    // Found by the structured fuzzing: each device rule behind CPU rules was tested against
    // every probe tensor name, rules² × 17,410 regex runs (minutes for a few hundred rules).
    let rules: Vec<&str> = (0..1000)
        .map(|i| if i % 2 == 0 { ".*=CPU" } else { ".*=CUDA0" })
        .collect();
    let dir = conf_dir(&format!(
        "[a]\nNAME=A\nMODEL=a.gguf\nEXTRA_ARGS=-ot {}\n",
        rules.join(",")
    ));
    let t = Instant::now();
    let o = run(&["check", "models.conf", "--format", "json"], dir.path());
    no_panic(&o, "check");
    // A hang guard, not a timing: the budget holds this to about a second in a debug build.
    assert!(t.elapsed() < Duration::from_secs(60), "{:?}", t.elapsed());
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("ot::cpu-rule-shadows"),
        "the lint still reports: {out}"
    );
}

#[test]
fn extra_args_led_by_a_vertical_tab_keep_spans_on_their_tokens() {
    // Found by the structured fuzzing: the value was trimmed of blanks but its span of all
    // Unicode white space, so every EXTRA_ARGS span sat one byte to the right.
    let text = "[a]\nNAME=A\nMODEL=a.gguf\nEXTRA_ARGS=\u{0B}--jinja stray\n";
    let report = profilec::check::check_source(text, None);
    let strays: Vec<&str> = report
        .diagnostics
        .iter()
        .filter(|d| d.code == "args::stray-value")
        .map(|d| &text[d.span.clone().expect("span")])
        .collect();
    // The tab is not a word separator for llama-server's argv split, so it leads a word.
    assert_eq!(strays, ["\u{0B}--jinja", "stray"]);
}
