//! Memory free right now, per device: what `doctor` and `start` hold a launch to. Sizes are MiB.
//! The reading is a plain value ([`MemoryNow`]) so a caller (or a test) can state it instead of
//! reading the machine.

use serde::{Deserialize, Serialize};

use super::{DeviceKind, Machine};

/// One device's memory at one moment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceMemory {
    /// `CUDA0`, `CUDA1`, … or `CPU`: the names the memory plan uses.
    pub id: String,
    pub kind: DeviceKind,
    pub name: String,
    pub total_mib: u64,
    /// NVML's free memory on a GPU; on the CPU the RAM the kernel can hand out without swapping
    /// (`MemAvailable`: free plus reclaimable page cache), within a cgroup limit if there is one.
    pub free_mib: u64,
    pub used_mib: u64,
}

impl DeviceMemory {
    pub fn new(id: &str, kind: DeviceKind, name: &str, total_mib: u64, free_mib: u64) -> Self {
        DeviceMemory {
            id: id.to_string(),
            kind,
            name: name.to_string(),
            total_mib,
            free_mib: free_mib.min(total_mib),
            used_mib: total_mib.saturating_sub(free_mib),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SwapMemory {
    pub total_mib: u64,
    pub free_mib: u64,
    pub used_mib: u64,
}

/// Free/used/total per device now: GPUs in CUDA order, then the CPU (RAM), and swap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemoryNow {
    pub devices: Vec<DeviceMemory>,
    pub swap: SwapMemory,
    /// NVML answered, so the GPU list is the real one (possibly empty).
    pub gpus_detected: bool,
}

impl MemoryNow {
    pub fn device(&self, id: &str) -> Option<&DeviceMemory> {
        self.devices.iter().find(|d| d.id == id)
    }
}

const MIB: u64 = 1024 * 1024;

/// Reads the machine now: NVML for GPUs (as `hw` detects them), sysinfo for RAM and swap.
pub fn memory_now() -> MemoryNow {
    let detected = super::detect(std::path::Path::new("."));
    let mut devices: Vec<DeviceMemory> = detected
        .hardware
        .gpus
        .iter()
        .zip(&detected.observed.gpu_free_mib)
        .map(|(g, free)| DeviceMemory::new(&g.id, DeviceKind::Gpu, &g.name, g.total_mib, *free))
        .collect();
    let cpu = &detected.hardware.cpu;
    devices.push(DeviceMemory::new(
        "CPU",
        DeviceKind::Cpu,
        "system RAM",
        cpu.ram_mib,
        detected.observed.ram_available_mib,
    ));
    MemoryNow {
        devices,
        swap: swap_now(),
        gpus_detected: detected.gpus_detected,
    }
}

fn swap_now() -> SwapMemory {
    let (total, free) = match sysinfo::System::new() {
        Ok(mut sys) => {
            sys.refresh_memory();
            (sys.total_swap() / MIB, sys.free_swap() / MIB)
        }
        Err(_) => (0, 0),
    };
    SwapMemory {
        total_mib: total,
        free_mib: free.min(total),
        used_mib: total.saturating_sub(free),
    }
}

impl Machine {
    /// This machine with each device's capacity set to what is free now, so a plan or a
    /// placement against it answers "does it fit now". A device the reading lacks (a declared
    /// GPU that is not there) has no capacity; an RPC server (remote, not read here) keeps its
    /// declared capacity.
    pub fn with_free(&self, now: &MemoryNow) -> Machine {
        let mut m = self.clone();
        for d in m.gpus.iter_mut().chain(std::iter::once(&mut m.cpu)) {
            if d.is_rpc() {
                continue;
            }
            let free = now.device(&d.id).map_or(0, |n| n.free_mib);
            d.reserved_mib = d.total_mib.saturating_sub(free);
            d.capacity_mib = free;
        }
        m
    }
}
