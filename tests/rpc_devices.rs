//! `--device` on a machine with RPC hosts: `check` refuses a name the launch will not have and
//! says which devices it has; `render` puts `--rpc` before `--device`, since llama.cpp only
//! knows the RPC devices once it has parsed `--rpc` (b11434: `--device RPC0 --rpc …` exits with
//! `invalid device: RPC0`).

use serde_json::Value;

use crate::support::{fixture, output_within, profilec};

const TOML: &str = "[cpu]\nram_mib = 8192\n\n\
    [[rpc]]\nendpoint = \"10.0.0.2:50052\"\n[[rpc.device]]\ntotal_mib = 8192\n\n\
    [[rpc]]\nendpoint = \"10.0.0.3:50052\"\n[[rpc.device]]\ntotal_mib = 8192\n";

fn rig(conf: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("models")).expect("models dir");
    std::fs::write(dir.path().join("models.conf"), conf).expect("conf");
    std::fs::write(dir.path().join("profilec.toml"), TOML).expect("toml");
    dir
}

/// `(profile, message, help)` of every `place::unknown-device` diagnostic.
fn unknown_devices(dir: &tempfile::TempDir) -> Vec<(String, String, String)> {
    let out = output_within(
        profilec()
            .arg("check")
            .arg(dir.path().join("models.conf"))
            .args(["--format", "json"]),
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let v: Value = serde_json::from_str(text.lines().next().unwrap_or("{}")).expect("json");
    v["diagnostics"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["code"] == "place::unknown-device")
        .map(|d| {
            let m = d["message"].as_str().unwrap_or_default().to_string();
            let p = m.split('`').nth(1).unwrap_or_default().to_string();
            (p, m, d["help"].as_str().unwrap_or_default().to_string())
        })
        .collect()
}

#[test]
fn check_names_the_devices_a_launch_has_when_device_names_another() {
    let rpc = "--rpc 10.0.0.2:50052,10.0.0.3:50052";
    let dir = rig(&format!(
        "[ok]\nNAME=A\nMODEL=m.gguf\nEXTRA_ARGS={rpc} --device rpc1,RPC0\n\n\
         [none]\nNAME=B\nMODEL=m.gguf\nEXTRA_ARGS={rpc} --device none\n\n\
         [third]\nNAME=C\nMODEL=m.gguf\nEXTRA_ARGS={rpc} --device RPC2\n\n\
         [host]\nNAME=D\nMODEL=m.gguf\nEXTRA_ARGS={rpc} --device CPU\n\n\
         [no-rpc]\nNAME=E\nMODEL=m.gguf\nEXTRA_ARGS=--device RPC0\n"
    ));
    let found = unknown_devices(&dir);
    let profiles: Vec<&str> = found.iter().map(|(p, _, _)| p.as_str()).collect();
    assert_eq!(profiles, ["third", "host", "no-rpc"], "{found:?}");
    let (_, third, help) = &found[0];
    assert!(
        third.contains("--device RPC2") && third.contains("it has RPC0, RPC1"),
        "{third}"
    );
    assert!(help.contains("name one of RPC0, RPC1"), "{help}");
    assert!(found[1].2.contains("--device none"), "{:?}", found[1]);
    assert!(found[2].2.contains("--rpc"), "{:?}", found[2]);
}

#[test]
fn render_puts_rpc_before_the_device_list() {
    let dir = rig(
        "[ok]\nNAME=A\nMODEL=m.gguf\nEXTRA_ARGS=--device RPC1 --rpc 10.0.0.2:50052,10.0.0.3:50052\n",
    );
    std::fs::copy(fixture("llama-gqa.gguf"), dir.path().join("models/m.gguf")).expect("model");
    let out = output_within(
        profilec()
            .args(["render", "ok"])
            .arg(dir.path().join("models.conf")),
    );
    let argv: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    let at = |flag: &str| argv.iter().position(|a| a == flag);
    let (rpc, dev) = (at("--rpc"), at("--device"));
    assert!(rpc.is_some() && rpc < dev, "{argv:?} {out:?}");
}
