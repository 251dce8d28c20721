//! Detecting the machine: GPUs through NVML, RAM and cores through sysinfo, NUMA nodes from
//! sysfs. Detection never fails: whatever cannot be read becomes a note and a safe value.

use std::path::Path;

use serde::Serialize;

use super::{Cpu, Defaults, Hardware, Llm, Runtime};
use crate::diag::Diagnostic;

/// The detected machine, in the same shape as a parsed profilec.toml, plus the moment-in-time
/// readings (free memory) that do not belong in the file.
#[derive(Debug, Clone)]
pub struct Detected {
    pub hardware: Hardware,
    pub observed: Observed,
    /// NVML ran, so `hardware.gpus` is the real list (possibly empty); false when there is no
    /// driver and the GPU side is simply unknown.
    pub gpus_detected: bool,
    /// Why something could not be detected (e.g. no NVIDIA driver); never errors.
    pub notes: Vec<Diagnostic>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Observed {
    pub ram_available_mib: u64,
    /// Free memory per GPU, in the order of `hardware.gpus`.
    pub gpu_free_mib: Vec<u64>,
}

const MIB: u64 = 1024 * 1024;

/// Detects GPUs, CPU and RAM. `base_dir` is where `[runtime]` paths default to (the directory a
/// profilec.toml would live in).
pub fn detect(base_dir: &Path) -> Detected {
    let mut notes = Vec::new();
    let probe = super::nvml::probe(&mut notes);
    let (cpu, ram_available_mib) = cpu_and_available();
    Detected {
        hardware: Hardware {
            gpus: probe.gpus,
            rpc: Vec::new(),
            cpu,
            defaults: Defaults::default(),
            runtime: Runtime::default_in(base_dir),
            llm: Llm::default(),
        },
        observed: Observed {
            ram_available_mib,
            gpu_free_mib: probe.free_mib,
        },
        gpus_detected: probe.ran,
        notes,
    }
}

/// The CPU side alone (also used for `[cpu]` keys a file leaves out).
pub fn detect_cpu() -> Cpu {
    cpu_and_available().0
}

fn cpu_and_available() -> (Cpu, u64) {
    let (mut ram, mut available, logical) = match sysinfo::System::new() {
        Ok(mut sys) => {
            sys.refresh_memory();
            sys.refresh_cpu_list(sysinfo::CpuRefreshKind::nothing());
            let (mut total, mut avail) = (sys.total_memory(), sys.available_memory());
            // In a container the cgroup limit, not the host's RAM, is what llama.cpp can use.
            if let Some(limits) = sys.cgroup_limits()
                && limits.total_memory > 0
                && limits.total_memory < total
            {
                total = limits.total_memory;
                avail = avail.min(limits.free_memory);
            }
            (total / MIB, avail / MIB, sys.cpus().len())
        }
        Err(_) => (0, 0, 0),
    };
    let logical = if logical > 0 {
        logical
    } else {
        std::thread::available_parallelism().map_or(1, usize::from)
    };
    let physical = sysinfo::System::physical_core_count()
        .ok()
        .filter(|&n| n > 0)
        .unwrap_or(logical);
    if ram == 0 {
        // sysinfo could not read /proc/meminfo; a plan against 0 MiB would be useless, so say
        // little rather than nothing: 1 GiB is below any real machine.
        ram = 1024;
        available = available.max(1);
    }
    let cpu = Cpu {
        ram_mib: ram,
        os_reserve_mib: Cpu::default_os_reserve_mib(ram),
        cores_physical: to_u32(physical.min(logical)),
        cores_logical: to_u32(logical),
        numa_nodes: numa_nodes(Path::new("/sys/devices/system/node")),
        arch: std::env::consts::ARCH.to_owned(),
        speed: super::DEFAULT_CPU_SPEED,
    };
    (cpu, available)
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX).max(1)
}

/// Counts `nodeN` directories; 1 when sysfs has none (non-NUMA kernels, other OSes).
fn numa_nodes(dir: &Path) -> u32 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 1;
    };
    let n = entries
        .filter_map(Result::ok)
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.strip_prefix("node")
                .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        })
        .count();
    to_u32(n)
}
