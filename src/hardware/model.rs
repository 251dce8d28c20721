//! The view of the machine the memory model and placement use: one [`Device`] per GPU (in CUDA
//! order, the fill order of every strategy) and the CPU last, each with what llama.cpp may use.

use serde::{Deserialize, Serialize};

use super::Hardware;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    Gpu,
    Cpu,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Device {
    /// `CUDA0`, `CUDA1`, … or `CPU`: the buffer-type names llama.cpp logs and `-ot` takes.
    pub id: String,
    pub kind: DeviceKind,
    pub name: String,
    /// GPU memory or RAM, MiB.
    pub total_mib: u64,
    /// Held by others: display/desktop on a GPU, the OS reserve on the CPU.
    pub reserved_mib: u64,
    /// `total_mib − reserved_mib`: the most llama.cpp can place here (before CUDA overhead and
    /// the fit margin, which the memory model subtracts itself).
    pub capacity_mib: u64,
    /// Relative speed; the fastest GPU is 1.0.
    pub speed: f64,
    pub drives_display: bool,
    /// For an RPC device: the `HOST:PORT` of its server (`--rpc`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// For an RPC device: its index on that server, the `N` of the `RPCN[HOST:PORT]` buffer
    /// names llama.cpp logs and `-ot` takes (ggml-rpc.cpp, `ggml_backend_rpc_buffer_type`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_index: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Machine {
    pub gpus: Vec<Device>,
    pub cpu: Device,
    /// Per active GPU, from `[runtime] cuda_overhead_mib`.
    pub cuda_overhead_mib: u64,
    /// The build whose memory rules apply (`None` = b11434): `[runtime] llama_cpp_build`, else
    /// the llama-server this process follows when it is older (see [`Machine::followed_build`]).
    pub llama_cpp_build: Option<u32>,
    /// Where `llama_cpp_build` came from when profilec.toml did not declare it
    /// (`` `PATH --version` ``, `the startup log's build`); `None` when it did (or nothing set it).
    #[serde(skip)]
    pub llama_cpp_build_from: Option<String>,
}

impl Device {
    /// A llama.cpp RPC server (`--rpc`, id `RPC0`…): a remote CPU backend with host-like sizes,
    /// no op offload and no pinned host buffer (ggml/src/ggml-rpc/ggml-rpc.cpp).
    pub fn is_rpc(&self) -> bool {
        self.kind == DeviceKind::Gpu && self.id.starts_with("RPC")
    }
}

impl Machine {
    /// Without `[runtime] llama_cpp_build`, the build of the llama-server this process follows
    /// (its `--version`, src/flags/active.rs) when it is older than b11434: the memory rules
    /// that changed since (docs/memory-model.md §8.1) apply as that build had them. A newer
    /// build keeps b11434's rules (`plan` says so, `flags::plan_notes`).
    /// For comparing a plan with a startup log: the memory rules of the build that wrote it
    /// (its `build N` line), whatever profilec.toml declares — the log is what ran.
    pub fn follow_log_build(&mut self, build: u32) {
        let older = build < crate::flags::probe::SHIPPED_BUILD;
        self.llama_cpp_build = older.then_some(build);
        self.llama_cpp_build_from = older.then(|| "the startup log's build".to_string());
    }

    fn followed_build(mut self) -> Machine {
        let followed = crate::flags::active::source().and_then(crate::flags::TableSource::build);
        if self.llama_cpp_build.is_none()
            && let Some(build) = followed
            && let Some(n) = build
                .number
                .filter(|n| *n < crate::flags::probe::SHIPPED_BUILD)
        {
            self.llama_cpp_build = Some(n);
            self.llama_cpp_build_from = Some(format!("`{} --version`", build.path.display()));
        }
        self
    }

    /// Whether any local CUDA device is present (RPC servers do not count): it decides pinned
    /// host buffers, repacking and op offload.
    pub fn has_cuda(&self) -> bool {
        self.gpus.iter().any(|g| !g.is_rpc())
    }

    /// The llama.cpp name of GPU `i` (`CUDA1`, `RPC0`).
    pub fn gpu_id(&self, i: usize) -> String {
        self.gpus
            .get(i)
            .map_or_else(|| format!("CUDA{i}"), |g| g.id.clone())
    }

    /// The buffer type names `-ot` takes for the GPUs, in slot order: `RPC<k>[HOST:PORT]` for an
    /// RPC device (`k` its index on that server, ggml-rpc.cpp `ggml_backend_rpc_buffer_type`),
    /// the id (`CUDA0`) for a local one.
    pub fn gpu_buffer_types(&self) -> Vec<String> {
        self.gpus
            .iter()
            .map(|g| match (&g.endpoint, g.server_index) {
                (Some(e), Some(k)) => format!("RPC{k}[{e}]"),
                _ => g.id.clone(),
            })
            .collect()
    }

    /// GPUs in CUDA order, then the CPU.
    pub fn devices(&self) -> impl Iterator<Item = &Device> {
        self.gpus.iter().chain(std::iter::once(&self.cpu))
    }

    /// Looks a device up by its llama.cpp name (`CUDA1`, `CPU`).
    pub fn device(&self, id: &str) -> Option<&Device> {
        self.devices().find(|d| d.id == id)
    }

    pub fn gpu_capacity_mib(&self) -> u64 {
        self.gpus.iter().map(|g| g.capacity_mib).sum()
    }

    pub fn is_cpu_only(&self) -> bool {
        self.gpus.is_empty()
    }
}

impl Hardware {
    /// The machine a launch without `--rpc` sees: local GPUs, then the CPU.
    pub fn machine(&self) -> Machine {
        self.machine_for(None)
    }

    /// Every declared device, each `[[rpc]]` host in file order (what `hw` shows).
    pub fn machine_with_all_rpc(&self) -> Machine {
        let all: Vec<&str> = self.rpc.iter().map(|h| h.endpoint.as_str()).collect();
        self.machine_for(Some(&all.join(",")))
    }

    /// The machine a launch with `--rpc LIST` sees: the devices of each listed `[[rpc]]` host
    /// first (`RPC0`, `RPC1`, … numbered across servers in `--rpc` order, as
    /// `ggml_backend_rpc_add_server` in ggml-rpc.cpp does and `llama_prepare_model_devices` in
    /// src/llama.cpp orders them), then the local GPUs, then the CPU. An endpoint without a
    /// `[[rpc]]` host adds nothing (`check` reports it: `rpc::undeclared-endpoint`).
    pub fn machine_for(&self, rpc: Option<&str>) -> Machine {
        let listed: Vec<&str> = rpc
            .map(|l| {
                l.split(',')
                    .map(str::trim)
                    .filter(|e| !e.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        let hosts = listed
            .iter()
            .filter_map(|e| self.rpc.iter().find(|h| h.endpoint == *e));
        let rpc = hosts.flat_map(|h| h.devices.iter().enumerate().map(move |(k, d)| (h, k, d)));
        let rpc = rpc.enumerate().map(|(n, (h, k, d))| Device {
            id: format!("RPC{n}"),
            kind: DeviceKind::Gpu,
            name: format!("{} on {}", d.name, h.endpoint),
            total_mib: d.total_mib,
            reserved_mib: d.reserved_mib,
            capacity_mib: d.total_mib.saturating_sub(d.reserved_mib),
            speed: d.speed,
            drives_display: false,
            endpoint: Some(h.endpoint.clone()),
            server_index: u32::try_from(k).ok(),
        });
        let local = self.gpus.iter().map(|g| Device {
            id: g.id.clone(),
            kind: DeviceKind::Gpu,
            name: g.name.clone(),
            total_mib: g.total_mib,
            reserved_mib: g.reserved_mib,
            capacity_mib: g.total_mib.saturating_sub(g.reserved_mib),
            speed: g.speed,
            drives_display: g.drives_display,
            endpoint: None,
            server_index: None,
        });
        let gpus = rpc.chain(local).collect();
        let c = &self.cpu;
        Machine {
            gpus,
            cpu: Device {
                id: "CPU".to_owned(),
                kind: DeviceKind::Cpu,
                name: format!(
                    "CPU ({} cores / {} threads, {})",
                    c.cores_physical, c.cores_logical, c.arch
                ),
                total_mib: c.ram_mib,
                reserved_mib: c.os_reserve_mib,
                capacity_mib: c.ram_mib.saturating_sub(c.os_reserve_mib),
                speed: c.speed,
                drives_display: false,
                endpoint: None,
                server_index: None,
            },
            cuda_overhead_mib: self.runtime.cuda_overhead_mib,
            llama_cpp_build: self.runtime.llama_cpp_build,
            llama_cpp_build_from: None,
        }
        .followed_build()
    }
}
