//! `profilec hw` through the built binary.

use crate::support;
use std::process::Output;

use serde_json::Value;

fn hw(args: &[&str]) -> Output {
    support::profilec()
        .arg("hw")
        .args(args)
        .current_dir(crate::support::root())
        .output()
        .unwrap()
}

#[test]
fn reference_rig_as_json() {
    let out = hw(&["--hardware", "profiles/profilec.toml", "--format", "json"]);
    support::stdout_ok(&out);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["source"], "profiles/profilec.toml");
    assert_eq!(v["diagnostics"], Value::Array(vec![]));
    assert_eq!(v["observed"], Value::Null);

    let gpus = v["hardware"]["gpus"].as_array().unwrap();
    assert_eq!(gpus.len(), 2);
    assert_eq!(gpus[0]["id"], "CUDA0");
    assert_eq!(gpus[0]["name"], "NVIDIA GeForce RTX 4090");
    assert_eq!(gpus[0]["total_mib"], 24564);
    assert_eq!(gpus[0]["reserved_mib"], 256);
    assert_eq!(gpus[1]["id"], "CUDA1");
    assert_eq!(gpus[1]["total_mib"], 16303);
    assert_eq!(gpus[1]["reserved_mib"], 3328);
    assert_eq!(gpus[1]["drives_display"], true);
    assert_eq!(gpus[1]["speed"], 0.7);
    assert_eq!(v["hardware"]["cpu"]["ram_mib"], 64205);
    assert_eq!(v["hardware"]["cpu"]["cores_logical"], 24);
    assert_eq!(v["hardware"]["defaults"]["entries"][8]["key"], "fit-target");
    assert_eq!(v["hardware"]["defaults"]["entries"][8]["value"], "128,1024");
    assert_eq!(v["hardware"]["runtime"]["port"], 8080);
    assert_eq!(v["hardware"]["runtime"]["models_dir"], "profiles/../models");
    assert_eq!(v["hardware"]["llm"]["model"], "deepseek-ai/DeepSeek-V3.2");

    let devices: Vec<(String, u64)> = std::iter::once(&v["machine"]["cpu"])
        .chain(v["machine"]["gpus"].as_array().unwrap())
        .map(|d| {
            (
                d["id"].as_str().unwrap().to_owned(),
                d["capacity_mib"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        devices,
        [
            ("CPU".to_owned(), 56013),
            ("CUDA0".to_owned(), 24308),
            ("CUDA1".to_owned(), 12975)
        ]
    );
    assert_eq!(v["machine"]["cpu"]["kind"], "cpu");
    assert_eq!(v["machine"]["cuda_overhead_mib"], 500);
}

#[test]
fn reference_rig_human() {
    let out = hw(&["--hardware", "profiles/profilec.toml"]);
    assert_eq!(out.status.code(), Some(0));
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(s.contains(
        "  CUDA1  NVIDIA GeForce RTX 5070 Ti: 16303 MiB total, 3328 reserved, 12975 usable, drives the display; speed 0.70\n"
    ), "{s}");
    assert!(
        s.contains("defaults: ctx-size=131072 n-gpu-layers=auto"),
        "{s}"
    );
    assert!(out.stderr.is_empty());
}

#[test]
fn bad_file_exits_1_with_located_diagnostics() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profilec.toml");
    std::fs::write(&path, "[cpu]\nram_mb = 65536\n").unwrap();
    let p = path.to_str().unwrap();

    let out = hw(&["--hardware", p]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    // Rendered by the same miette report as `check`: code, message, file:line:col, the line.
    assert!(err.contains("hw::unknown-key"), "{err}");
    assert!(err.contains("unknown key `ram_mb` in [cpu]"), "{err}");
    assert!(err.contains(&format!("[{p}:2:1]")), "{err}");
    assert!(err.contains("2 │ ram_mb = 65536"), "{err}");
    assert!(err.contains("help: did you mean `ram_mib`?"), "{err}");

    let out = hw(&["--hardware", p, "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "hw::unknown-key");
    assert_eq!(d["severity"], "error");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(d["span"], serde_json::json!([6, 12]));
}

#[test]
fn missing_file_is_an_io_error() {
    let out = hw(&["--hardware", "no/such/profilec.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .starts_with("error[io::read]: cannot read no/such/profilec.toml: ")
    );
}

#[test]
fn hardware_and_write_conflict() {
    let out = hw(&["--hardware", "profiles/profilec.toml", "--write"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn detected_machine_as_json() {
    let out = hw(&["--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["source"], "detected");
    assert!(v["hardware"]["cpu"]["ram_mib"].as_u64().unwrap() > 0);
    assert!(v["observed"]["ram_available_mib"].as_u64().unwrap() > 0);
    match crate::support::nvidia_driver_gpus() {
        None => {
            assert_eq!(v["hardware"]["gpus"], Value::Array(vec![]));
            assert_eq!(v["diagnostics"][0]["code"], "hw::no-nvidia-driver");
            assert_eq!(v["diagnostics"][0]["severity"], "note");
        }
        // With a driver: its GPUs (unless CUDA_VISIBLE_DEVICES hides some), and no no-driver note.
        Some(gpus) => {
            let listed = v["hardware"]["gpus"].as_array().expect("gpus").len();
            if std::env::var_os("CUDA_VISIBLE_DEVICES").is_none() {
                assert_eq!(listed, gpus, "{v:#}");
            }
            let codes: Vec<&Value> = v["diagnostics"]
                .as_array()
                .expect("diagnostics")
                .iter()
                .map(|d| &d["code"])
                .collect();
            assert!(
                !codes.contains(&&Value::from("hw::no-nvidia-driver")),
                "{v:#}"
            );
        }
    }
}
