//! Detection on the machine running the tests. Without an NVIDIA driver (as on CI and in this
//! container) it must be a CPU-only machine with the NVML note, never a panic; with one, the
//! GPUs the driver lists.

use std::path::Path;

use profilec::diag::Severity;
use profilec::hardware;

#[test]
fn detects_cpu_and_ram() {
    let d = hardware::detect(Path::new("/opt/llm"));
    let c = &d.hardware.cpu;
    assert!(c.ram_mib > 0);
    assert!(c.cores_physical > 0);
    assert!(c.cores_logical >= c.cores_physical);
    assert!(c.numa_nodes >= 1);
    assert_eq!(c.arch, std::env::consts::ARCH);
    assert_eq!(
        c.os_reserve_mib,
        hardware::Cpu::default_os_reserve_mib(c.ram_mib)
    );
    assert!(d.observed.ram_available_mib > 0);
    assert!(d.observed.ram_available_mib <= c.ram_mib);
    // The same typed model as a file, with the documented defaults for what is not detected.
    assert!(d.hardware.defaults.entries.is_empty());
    assert_eq!(d.hardware.runtime.models_dir, Path::new("/opt/llm/models"));
    assert_eq!(d.hardware.runtime.cuda_overhead_mib, 500);
    assert_eq!(d.hardware.llm, hardware::Llm::default());
}

#[test]
fn no_driver_means_cpu_only_with_a_note() {
    let d = hardware::detect(Path::new("."));
    if let Some(gpus) = crate::support::nvidia_driver_gpus() {
        // A machine with a driver asserts the other side of the same rule: NVML ran, no
        // no-driver note, and every GPU the driver lists (unless CUDA_VISIBLE_DEVICES hides
        // some) is there, numbered CUDA0… with its free memory observed.
        assert!(d.gpus_detected, "the driver is loaded: {:#?}", d.notes);
        assert!(
            d.notes.iter().all(|n| n.code != "hw::no-nvidia-driver"),
            "{:#?}",
            d.notes
        );
        if std::env::var_os("CUDA_VISIBLE_DEVICES").is_none() {
            assert_eq!(d.hardware.gpus.len(), gpus, "{:#?}", d.notes);
        }
        assert_eq!(d.observed.gpu_free_mib.len(), d.hardware.gpus.len());
        for (i, (g, free)) in d
            .hardware
            .gpus
            .iter()
            .zip(&d.observed.gpu_free_mib)
            .enumerate()
        {
            assert_eq!(g.id, format!("CUDA{i}"));
            assert!(g.total_mib > 0 && *free <= g.total_mib, "{g:#?}");
        }
        assert_eq!(
            d.hardware.machine().is_cpu_only(),
            d.hardware.gpus.is_empty()
        );
        return;
    }
    assert!(!d.gpus_detected);
    assert!(d.hardware.gpus.is_empty());
    assert!(d.observed.gpu_free_mib.is_empty());
    assert_eq!(d.notes.len(), 1, "{:#?}", d.notes);
    let n = &d.notes[0];
    assert_eq!(n.code, "hw::no-nvidia-driver");
    assert_eq!(n.severity, Severity::Note);
    assert_eq!(
        n.message,
        "no NVIDIA driver found (libnvidia-ml.so): planning for CPU only; declare GPUs in profilec.toml"
    );
    assert!(n.help.as_deref().unwrap().contains("libnvidia-ml.so"));
    let m = d.hardware.machine();
    assert!(m.is_cpu_only());
    let ids: Vec<&str> = m.devices().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["CPU"]);
    assert_eq!(
        m.cpu.capacity_mib,
        d.hardware.cpu.ram_mib - d.hardware.cpu.os_reserve_mib
    );
}

#[test]
fn detected_cores_match_the_os() {
    let c = hardware::detect_cpu();
    let logical = std::fs::read_to_string("/proc/cpuinfo")
        .map(|s| s.lines().filter(|l| l.starts_with("processor")).count())
        .unwrap_or(0);
    if logical > 0 {
        assert_eq!(c.cores_logical as usize, logical);
    }
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let total_kib: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    if total_kib > 0 {
        // A cgroup limit can only lower it.
        assert!(c.ram_mib <= total_kib / 1024);
    }
}
