//! GPUs through NVML, numbered the way the CUDA runtime (and so llama.cpp) numbers them.
//!
//! NVML enumerates in PCI bus order, but CUDA's default `CUDA_DEVICE_ORDER` is FASTEST_FIRST: the
//! runtime ranks devices with an undocumented throughput heuristic. We rank by CUDA cores × max
//! SM clock (peak FP32 throughput), ties in PCI order, which reproduces the observed numbering of
//! mixed rigs (an RTX 4090 is CUDA0 next to a newer-generation but smaller RTX 5070 Ti). With
//! `CUDA_DEVICE_ORDER=PCI_BUS_ID` the order is exact. `CUDA_VISIBLE_DEVICES` is applied after
//! ordering, as the CUDA runtime does.

use nvml_wrapper::enum_wrappers::device::Clock;
use nvml_wrapper::error::NvmlError;
use nvml_wrapper::{Device, Nvml};

use super::Gpu;
use crate::diag::Diagnostic;

pub(super) struct Probe {
    pub gpus: Vec<Gpu>,
    pub free_mib: Vec<u64>,
    /// NVML initialised and counted the devices.
    pub ran: bool,
}

struct Found {
    name: String,
    total_mib: u64,
    free_mib: u64,
    pci_bus_id: Option<String>,
    uuid: Option<String>,
    display: bool,
    throughput: f64,
}

const MIB: u64 = 1024 * 1024;

pub(super) fn probe(notes: &mut Vec<Diagnostic>) -> Probe {
    let empty = Probe {
        gpus: Vec::new(),
        free_mib: Vec::new(),
        ran: false,
    };
    let nvml = match Nvml::init() {
        Ok(n) => n,
        Err(e) => {
            notes.push(init_note(&e));
            return empty;
        }
    };
    let count = match nvml.device_count() {
        Ok(n) => n,
        Err(e) => {
            notes.push(nvml_warning(format!("NVML could not count GPUs: {e}")));
            return empty;
        }
    };
    let mut found = Vec::new();
    for i in 0..count {
        match nvml.device_by_index(i).and_then(|d| read(&d)) {
            Ok(f) => found.push(f),
            Err(e) => notes.push(nvml_warning(format!("NVML could not read GPU {i}: {e}"))),
        }
    }
    order(
        &mut found,
        std::env::var("CUDA_DEVICE_ORDER").ok().as_deref(),
    );
    let found = visible(found, std::env::var("CUDA_VISIBLE_DEVICES").ok().as_deref());
    let fastest = found.iter().map(|f| f.throughput).fold(0.0_f64, f64::max);
    let mut probe = empty;
    probe.ran = true;
    for (i, f) in found.into_iter().enumerate() {
        let speed = if fastest > 0.0 && f.throughput > 0.0 {
            // Two decimals: the heuristic is not more precise than that.
            (f.throughput / fastest * 100.0).round() / 100.0
        } else {
            1.0
        };
        probe.free_mib.push(f.free_mib);
        probe.gpus.push(Gpu {
            id: format!("CUDA{i}"),
            name: f.name,
            total_mib: f.total_mib,
            // What others hold right now (the display, a desktop): total − free at detection.
            reserved_mib: f.total_mib.saturating_sub(f.free_mib),
            speed,
            drives_display: f.display,
            pci_bus_id: f.pci_bus_id,
            span: None,
        });
    }
    probe
}

fn init_note(e: &NvmlError) -> Diagnostic {
    match e {
        NvmlError::LibloadingError(_) | NvmlError::LibraryNotFound | NvmlError::DriverNotLoaded => {
            Diagnostic::note(
                "hw::no-nvidia-driver",
                "no NVIDIA driver found (libnvidia-ml.so): planning for CPU only; declare GPUs in profilec.toml",
            )
            .help(format!(
                "install the NVIDIA driver to detect GPUs, or describe them in [[gpu]] entries and pass --hardware (NVML said: {e})"
            ))
        }
        other => nvml_warning(format!(
            "NVML is installed but failed to start ({other}): planning for CPU only; declare GPUs in profilec.toml"
        )),
    }
}

fn nvml_warning(msg: String) -> Diagnostic {
    Diagnostic::warning("hw::nvml-error", msg)
        .help("run nvidia-smi to check the driver; GPUs can also be declared in profilec.toml")
}

fn read(d: &Device) -> Result<Found, NvmlError> {
    let mem = d.memory_info()?;
    let cores = d.num_cores().unwrap_or(0);
    let clock = d.max_clock_info(Clock::SM).unwrap_or(0);
    Ok(Found {
        name: d.name()?,
        total_mib: mem.total / MIB,
        free_mib: mem.free / MIB,
        pci_bus_id: d.pci_info().ok().map(|p| p.bus_id),
        uuid: d.uuid().ok(),
        display: d.is_display_active().unwrap_or(false),
        throughput: f64::from(cores) * f64::from(clock),
    })
}

fn order(found: &mut [Found], device_order: Option<&str>) {
    let bus = |f: &Found| f.pci_bus_id.clone().unwrap_or_default();
    // NVML already enumerates by bus id; sorting again makes that explicit and stable.
    found.sort_by_key(bus);
    if device_order.map(str::trim) != Some("PCI_BUS_ID") {
        found.sort_by(|a, b| b.throughput.total_cmp(&a.throughput));
    }
}

/// CUDA_VISIBLE_DEVICES: indices into the ordered list or (prefixes of) `GPU-…` UUIDs; the list
/// stops at the first entry that matches nothing, as in the CUDA runtime.
fn visible(found: Vec<Found>, spec: Option<&str>) -> Vec<Found> {
    let Some(spec) = spec else { return found };
    let mut picked: Vec<usize> = Vec::new();
    for entry in spec.split(',').map(str::trim) {
        let hit = match entry.parse::<usize>() {
            Ok(i) if i < found.len() => Some(i),
            Ok(_) => None,
            Err(_) => found.iter().position(|f| {
                !entry.is_empty() && f.uuid.as_deref().is_some_and(|u| u.starts_with(entry))
            }),
        };
        match hit {
            Some(i) if !picked.contains(&i) => picked.push(i),
            _ => break,
        }
    }
    let mut slots: Vec<Option<Found>> = found.into_iter().map(Some).collect();
    picked
        .into_iter()
        .filter_map(|i| slots.get_mut(i).and_then(Option::take))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference rig as NVML enumerates it when the 5070 Ti sits in the first slot:
    /// cores × max SM clock from the cards' specifications.
    fn rig() -> Vec<Found> {
        let card = |name: &str, bus: &str, uuid: &str, cores: u32, clock: u32| Found {
            name: name.to_owned(),
            total_mib: 0,
            free_mib: 0,
            pci_bus_id: Some(bus.to_owned()),
            uuid: Some(uuid.to_owned()),
            display: false,
            throughput: f64::from(cores) * f64::from(clock),
        };
        vec![
            card("RTX 5070 Ti", "00000000:01:00.0", "GPU-5070", 8960, 3090),
            card("RTX 4090", "00000000:02:00.0", "GPU-4090", 16384, 3120),
        ]
    }

    fn names(f: &[Found]) -> Vec<&str> {
        f.iter().map(|f| f.name.as_str()).collect()
    }

    #[test]
    fn fastest_first_unless_pci_order_is_asked_for() {
        let mut f = rig();
        order(&mut f, None);
        assert_eq!(names(&f), ["RTX 4090", "RTX 5070 Ti"]);
        let mut f = rig();
        order(&mut f, Some("PCI_BUS_ID"));
        assert_eq!(names(&f), ["RTX 5070 Ti", "RTX 4090"]);
    }

    #[test]
    fn visible_devices_select_and_reorder() {
        let ordered = || {
            let mut f = rig();
            order(&mut f, None);
            f
        };
        assert_eq!(names(&visible(ordered(), Some("1"))), ["RTX 5070 Ti"]);
        assert_eq!(
            names(&visible(ordered(), Some("1,0"))),
            ["RTX 5070 Ti", "RTX 4090"]
        );
        assert_eq!(names(&visible(ordered(), Some("GPU-40"))), ["RTX 4090"]);
        // CUDA stops at the first entry that names no device.
        assert_eq!(names(&visible(ordered(), Some("0,7,1"))), ["RTX 4090"]);
        assert!(visible(ordered(), Some("")).is_empty());
        assert_eq!(visible(ordered(), None).len(), 2);
    }
}
