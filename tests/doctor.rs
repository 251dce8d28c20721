//! `doctor`: memory free now against thresholds and a profile's plan. The library takes the
//! reading of the machine as an input, so the GPU cases state it; the CLI cases read this
//! machine's real RAM (no GPU here).

use std::fs;
use std::path::Path;

use profilec::budget::Program;
use profilec::doctor::{Risk, Thresholds, doctor};
use profilec::hardware::{DeviceKind, DeviceMemory, MemoryNow, SwapMemory};

use crate::support::{assert_schema, profilec, root};

/// A models.conf with `profiles` and a profilec.toml with `gpus` (`[[gpu]]` tables) over the
/// repository's fixture models.
pub fn project_dir(profiles: &str, gpus: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    fs::write(dir.path().join("models.conf"), profiles).expect("models.conf");
    fs::write(
        dir.path().join("profilec.toml"),
        format!(
            "{gpus}\n[cpu]\nram_mib = 65536\nos_reserve_mib = 4096\n\n[runtime]\nmodels_dir = \"{}\"\n",
            root().join("models").display()
        ),
    )
    .expect("profilec.toml");
    dir
}

const ONE_GPU: &str =
    "[[gpu]]\nid = \"CUDA0\"\nname = \"test GPU\"\ntotal_mib = 24576\nreserved_mib = 0\n";

/// A dense fixture with every layer on CUDA0.
const DENSE_ON_GPU: &str = "[dense]\nNAME=Dense\nMODEL=llama-gqa.gguf\nCTX_SIZE=4096\n\
                            N_GPU_LAYERS=99\nFIT=off\nEXTRA_ARGS=-ctk f16 -ctv f16\n";

fn now(gpu_free: Option<u64>, ram_free: u64) -> MemoryNow {
    let mut devices = Vec::new();
    if let Some(free) = gpu_free {
        devices.push(DeviceMemory::new(
            "CUDA0",
            DeviceKind::Gpu,
            "test GPU",
            24576,
            free,
        ));
    }
    devices.push(DeviceMemory::new(
        "CPU",
        DeviceKind::Cpu,
        "RAM",
        65536,
        ram_free,
    ));
    MemoryNow {
        devices,
        swap: SwapMemory {
            total_mib: 0,
            free_mib: 0,
            used_mib: 0,
        },
        gpus_detected: gpu_free.is_some(),
    }
}

fn resolved(dir: &Path, id: &str) -> profilec::project::ResolvedProfile {
    let mut project =
        profilec::project::open(&dir.join("models.conf"), None).expect("project opens");
    project.resolve(id, Program::LlamaServer).expect("resolves")
}

#[test]
fn thresholds_alone_grade_free_memory() {
    let t = Thresholds {
        min_free_gib: 2.0,
        min_free_ratio: 0.10,
    };
    // floor = max(2048, 10 % of 65536 = 6554) on the CPU, max(2048, 2458) on the GPU.
    let r = doctor(&now(Some(20000), 60000), &t, None);
    assert_eq!(r.risk, Risk::Ok, "{r:#?}");
    assert_eq!(r.devices[1].floor_mib, 6554);
    let r = doctor(&now(Some(2000), 60000), &t, None);
    assert_eq!(r.devices[0].risk, Risk::Warn);
    assert_eq!(r.risk, Risk::Warn);
    let r = doctor(&now(Some(1000), 3000), &t, None);
    assert_eq!(r.devices[0].risk, Risk::Critical, "under half the floor");
    assert_eq!(r.devices[1].risk, Risk::Critical);
    assert!(r.summary.starts_with("critical"), "{}", r.summary);
}

#[test]
fn a_profile_that_does_not_fit_the_free_gpu_is_critical_with_remedies() {
    let dir = project_dir(
        "[moe]\nNAME=MoE\nMODEL=qwen3moe.gguf\nCTX_SIZE=4096\nN_GPU_LAYERS=99\nFIT=off\n\
         EXTRA_ARGS=-ctk f16 -ctv f16\n",
        ONE_GPU,
    );
    let p = resolved(dir.path(), "moe");
    let plenty = doctor(&now(Some(24000), 60000), &Thresholds::default(), Some(&p));
    let prof = plenty.profile.as_ref().expect("profile part");
    assert!(prof.fits_now, "{plenty:#?}");
    assert_eq!(plenty.risk, Risk::Ok);
    let need = plenty.devices[0].need_mib.expect("GPU need");
    assert!(need > 0.0);
    // Leave less free on the GPU than the plan needs there.
    let short = (need as u64).saturating_sub(1);
    let r = doctor(&now(Some(short), 60000), &Thresholds::default(), Some(&p));
    assert_eq!(r.devices[0].risk, Risk::Critical, "{r:#?}");
    assert_eq!(r.risk, Risk::Critical);
    assert!(r.blocks_launch());
    let prof = r.profile.as_ref().expect("profile part");
    assert!(!prof.fits_now);
    assert!(!prof.remediation.is_empty(), "{r:#?}");
    for m in &prof.remediation {
        assert!(!m.change.is_empty() && !m.detail.is_empty(), "{m:?}");
    }
    let v = serde_json::to_value(&r).expect("json");
    assert_schema(&v, "docs/doctor.schema.json");
}

#[test]
fn a_declared_gpu_that_is_not_there_now_is_critical() {
    let dir = project_dir(DENSE_ON_GPU, ONE_GPU);
    let p = resolved(dir.path(), "dense");
    let r = doctor(&now(None, 60000), &Thresholds::default(), Some(&p));
    let gpu = r
        .devices
        .iter()
        .find(|d| d.memory.id == "CUDA0")
        .expect("CUDA0 row");
    assert_eq!(gpu.risk, Risk::Critical);
    assert!(gpu.why.contains("does not have now"), "{}", gpu.why);
    assert!(r.blocks_launch());
}

#[test]
fn ram_only_report_on_this_machine() {
    let out = profilec().args(["doctor", "--json"]).output().expect("run");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
    assert_schema(&v, "docs/doctor.schema.json");
    let devices = v["devices"].as_array().expect("devices");
    let cpu = devices.last().expect("a CPU row");
    assert_eq!(cpu["id"], "CPU");
    let total = cpu["total_mib"].as_u64().expect("total");
    let free = cpu["free_mib"].as_u64().expect("free");
    assert!(total > 0 && free <= total);
    assert_eq!(cpu["used_mib"].as_u64(), Some(total - free));
    // Thresholds are honoured: a floor above the RAM is a risk (exit 1), no floor is ok.
    let strict = profilec()
        .args(["doctor", "--json", "--min-free-gib", "100000"])
        .output()
        .expect("run");
    let s: serde_json::Value = serde_json::from_slice(&strict.stdout).expect("JSON");
    assert_eq!(strict.status.code(), Some(1));
    assert_ne!(
        s["devices"].as_array().unwrap().last().unwrap()["risk"],
        "ok"
    );
    let lax = profilec()
        .args([
            "doctor",
            "--json",
            "--min-free-gib",
            "0",
            "--min-free-ratio",
            "0",
        ])
        .output()
        .expect("run");
    let l: serde_json::Value = serde_json::from_slice(&lax.stdout).expect("JSON");
    assert_eq!(lax.status.code(), Some(0), "{l:#}");
    assert_eq!(l["risk"], "ok");
    let bad = profilec()
        .args(["doctor", "--min-free-ratio", "2"])
        .output()
        .expect("run");
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn a_profile_on_this_machines_ram() {
    let dir = project_dir(
        "[dense]\nNAME=Dense\nMODEL=llama-gqa.gguf\nCTX_SIZE=4096\nEXTRA_ARGS=-ctk f16 -ctv f16\n",
        "",
    );
    let out = profilec()
        .args(["doctor", "dense"])
        .arg(dir.path().join("models.conf"))
        .args(["--json", "--min-free-gib", "0", "--min-free-ratio", "0"])
        .output()
        .expect("run");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_schema(&v, "docs/doctor.schema.json");
    assert_eq!(v["profile"]["fits_now"], true, "{v:#}");
    assert!(
        v["devices"][0]["need_mib"].as_f64().unwrap_or(0.0) > 0.0,
        "{v:#}"
    );
}

#[test]
fn start_refuses_a_launch_that_does_not_fit_now() {
    let dir = project_dir(DENSE_ON_GPU, ONE_GPU);
    let out = profilec()
        .args(["start", "dense"])
        .arg(dir.path().join("models.conf"))
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("does not fit in the memory free now"), "{err}");
    assert!(err.contains("--force"), "{err}");
}
