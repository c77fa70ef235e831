//! Adapter discovery and choice, device creation with the adapter's own limits, and the
//! submit / wait helpers every GPU operation uses.

use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};

/// How long a wait for the GPU may take before it counts as a hang (software adapters have
/// been seen to hang; a failed run is better than a stuck one).
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(300);

/// A graphics API wgpu can drive, as `--adapter` names it.
const BACKEND_NAMES: [(&str, wgpu::Backend); 4] = [
    ("vulkan", wgpu::Backend::Vulkan),
    ("metal", wgpu::Backend::Metal),
    ("dx12", wgpu::Backend::Dx12),
    ("gl", wgpu::Backend::Gl),
];

/// An adapter asked for by name: `[BACKEND:]NAME`, where NAME is a case-insensitive substring
/// of the adapter's name (empty: any) and BACKEND one of vulkan, metal, dx12, gl. Mesa's
/// software renderer is called llvmpipe through Vulkan and GL alike, so `vulkan:llvmpipe` and
/// `gl:llvmpipe` tell them apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AdapterSpec {
    pub backend: Option<wgpu::Backend>,
    pub name: String,
}

impl std::str::FromStr for AdapterSpec {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> Result<Self> {
        let Some((api, name)) = s.split_once(':') else {
            return Ok(Self {
                backend: None,
                name: s.to_string(),
            });
        };
        let api_lc = api.trim().to_lowercase();
        let backend = BACKEND_NAMES
            .iter()
            .find(|(n, _)| *n == api_lc)
            .map(|(_, b)| *b)
            .ok_or_else(|| {
                let names: Vec<&str> = BACKEND_NAMES.iter().map(|(n, _)| *n).collect();
                anyhow!(
                    "adapter {s:?}: {api:?} is not a backend (one of {}), in the form BACKEND:NAME",
                    names.join(", ")
                )
            })?;
        Ok(Self {
            backend: Some(backend),
            name: name.to_string(),
        })
    }
}

impl std::fmt::Display for AdapterSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.backend {
            Some(b) => write!(f, "{}:{}", backend_name(b), self.name),
            None => write!(f, "{}", self.name),
        }
    }
}

impl AdapterSpec {
    pub fn matches(&self, info: &wgpu::AdapterInfo) -> bool {
        self.backend.is_none_or(|b| b == info.backend)
            && info.name.to_lowercase().contains(&self.name.to_lowercase())
    }
}

/// The name `--adapter` uses for a backend.
pub fn backend_name(backend: wgpu::Backend) -> &'static str {
    BACKEND_NAMES
        .iter()
        .find(|(_, b)| *b == backend)
        .map_or("other", |(n, _)| n)
}

/// What the user asked for when choosing a device.
#[derive(Clone, Debug, Default)]
pub struct GpuOptions {
    /// The adapter asked for by name; `None` picks the best one.
    pub adapter: Option<AdapterSpec>,
    /// Whether the best adapter may be a software one (lavapipe, llvmpipe, SwiftShader, WARP):
    /// true for `--backend gpu`, false for the default choice, which prefers the CPU backend to
    /// a GPU emulated on the CPU. An adapter asked for by name may always be software.
    pub allow_software: bool,
    /// Upper bound on the bytes of one chunk of a field (tests use tiny values to drive the
    /// multi-chunk paths); `None` uses the adapter's binding limit.
    pub max_chunk_bytes: Option<u64>,
}

/// The facts about an adapter that matter to hvp, as `hvp adapters` prints them.
#[derive(Clone, Debug, serde::Serialize)]
pub struct AdapterSummary {
    pub name: String,
    pub backend: String,
    pub device_type: String,
    pub driver: String,
    /// Runs on the CPU (see `is_software`): never the default device.
    pub software: bool,
    pub max_storage_binding_bytes: u64,
    pub max_buffer_bytes: u64,
    pub max_workgroup_storage_bytes: u32,
    pub max_invocations_per_workgroup: u32,
    pub max_workgroups_per_dimension: u32,
    pub shader_f64: bool,
    pub timestamp_query: bool,
}

impl AdapterSummary {
    pub fn of(adapter: &wgpu::Adapter) -> Self {
        let info = adapter.get_info();
        let limits = adapter.limits();
        let features = adapter.features();
        Self {
            software: is_software(&info),
            backend: backend_name(info.backend).to_string(),
            device_type: format!("{:?}", info.device_type),
            driver: format!("{} {}", info.driver, info.driver_info)
                .trim()
                .to_string(),
            name: info.name,
            max_storage_binding_bytes: limits.max_storage_buffer_binding_size,
            max_buffer_bytes: limits.max_buffer_size,
            max_workgroup_storage_bytes: limits.max_compute_workgroup_storage_size,
            max_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
            max_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
            shader_f64: features.contains(wgpu::Features::SHADER_F64),
            timestamp_query: features.contains(wgpu::Features::TIMESTAMP_QUERY),
        }
    }
}

/// True for adapters that run on the CPU: Mesa's lavapipe / llvmpipe, SwiftShader, Microsoft's
/// WARP. The driver says so through the device type; the names catch drivers that report
/// another type.
pub fn is_software(info: &wgpu::AdapterInfo) -> bool {
    let name = info.name.to_lowercase();
    info.device_type == wgpu::DeviceType::Cpu
        || ["llvmpipe", "lavapipe", "swiftshader", "basic render"]
            .iter()
            .any(|s| name.contains(s))
}

fn adapters_of(backends: wgpu::Backends) -> Vec<wgpu::Adapter> {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = backends;
    pollster::block_on(wgpu::Instance::new(desc).enumerate_adapters(backends))
}

/// The adapters a choice is made from, best first: those of the primary APIs (Vulkan, Metal,
/// DX12), and GL's only when they hold no hardware adapter. Probing GL on a headless machine
/// prints noise, and a GPU with a Vulkan, Metal or DX12 driver is better driven through it.
pub fn list_adapters() -> Vec<wgpu::Adapter> {
    let mut adapters = adapters_of(wgpu::Backends::PRIMARY);
    if adapters.iter().all(|a| is_software(&a.get_info())) {
        adapters.extend(adapters_of(wgpu::Backends::GL));
    }
    adapters.sort_by_key(|a| rank(&a.get_info()));
    adapters
}

/// Every adapter of every API hvp is built with, best first: what `hvp adapters` shows.
pub fn list_all_adapters() -> Vec<wgpu::Adapter> {
    let mut adapters = adapters_of(wgpu::Backends::PRIMARY | wgpu::Backends::GL);
    adapters.sort_by_key(|a| rank(&a.get_info()));
    adapters
}

/// The adapter the default choice takes from a list sorted best first: the best hardware
/// adapter, or none.
pub fn default_adapter(sorted: &[wgpu::Adapter]) -> Option<usize> {
    sorted.iter().position(|a| !is_software(&a.get_info()))
}

/// Lower is better: discrete, integrated, virtual, unknown, then software devices; within
/// each, Vulkan, Metal and DX12 before GL.
fn rank(info: &wgpu::AdapterInfo) -> (u8, u8) {
    let device = if is_software(info) {
        4
    } else {
        match info.device_type {
            wgpu::DeviceType::DiscreteGpu => 0,
            wgpu::DeviceType::IntegratedGpu => 1,
            wgpu::DeviceType::VirtualGpu => 2,
            wgpu::DeviceType::Other | wgpu::DeviceType::Cpu => 3,
        }
    };
    let backend = match info.backend {
        wgpu::Backend::Vulkan | wgpu::Backend::Metal | wgpu::Backend::Dx12 => 0,
        _ => 1,
    };
    (device, backend)
}

/// The adapter `options` ask for.
pub fn choose_adapter(options: &GpuOptions) -> Result<wgpu::Adapter> {
    if let Some(spec) = &options.adapter {
        // GL only when asked for, or when nothing else matches.
        let mut adapters = list_adapters();
        if !adapters.iter().any(|a| spec.matches(&a.get_info())) {
            adapters = list_all_adapters();
        }
        let found: Vec<String> = adapters
            .iter()
            .map(|a| {
                let info = a.get_info();
                format!("{}:{}", backend_name(info.backend), info.name)
            })
            .collect();
        return adapters
            .into_iter()
            .find(|a| spec.matches(&a.get_info()))
            .ok_or_else(|| {
                anyhow!(
                    "no adapter matches {:?}; found: {found:?}",
                    spec.to_string()
                )
            });
    }
    let adapters = list_adapters();
    if adapters.is_empty() {
        bail!("wgpu found no adapter (no Vulkan, Metal, DX12 or GL driver)");
    }
    if options.allow_software {
        return Ok(adapters.into_iter().next().expect("not empty"));
    }
    let Some(i) = default_adapter(&adapters) else {
        // "llvmpipe (LLVM 15) through vulkan and gl": one entry per name.
        let mut by_name: Vec<(String, Vec<&str>)> = Vec::new();
        for info in adapters.iter().map(|a| a.get_info()) {
            match by_name.iter_mut().find(|(n, _)| *n == info.name) {
                Some((_, apis)) => apis.push(backend_name(info.backend)),
                None => by_name.push((info.name, vec![backend_name(info.backend)])),
            }
        }
        let found: Vec<String> = by_name
            .iter()
            .map(|(n, apis)| format!("{n} through {}", apis.join(" and ")))
            .collect();
        bail!(
            "no hardware GPU adapter (only the software {}, slower than the CPU backend; \
             --backend gpu takes it)",
            found.join(", ")
        );
    };
    Ok(adapters.into_iter().nth(i).expect("in range"))
}

/// Device, queue and the facts the kernels are sized from.
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter: AdapterSummary,
    pub limits: wgpu::Limits,
    pub features: wgpu::Features,
    /// Bytes of one chunk of a field: the adapter's binding limit, or the user's smaller bound.
    pub max_chunk_bytes: u64,
    device_error: std::sync::Arc<std::sync::Mutex<Option<String>>>,
}

impl GpuContext {
    /// Opens the adapter the options name (or the best one) with its own limits.
    pub fn new(options: &GpuOptions) -> Result<Self> {
        Self::open(choose_adapter(options)?, options.max_chunk_bytes)
    }

    /// Opens `adapter` with its own limits; `max_chunk_bytes` as in `GpuOptions`.
    pub fn open(adapter: wgpu::Adapter, user_chunk_bytes: Option<u64>) -> Result<Self> {
        let summary = AdapterSummary::of(&adapter);
        let limits = adapter.limits();
        let wanted = wgpu::Features::TIMESTAMP_QUERY | wgpu::Features::SHADER_F64;
        let features = adapter.features() & wanted;
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("hvp"),
            required_features: features,
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .with_context(|| format!("requesting a device on {}", summary.name))?;
        // Errors outside an error scope (bugs in hvp, or a lost device) are kept and returned by
        // the next wait, so that they end the run with a message instead of a silent wrong answer.
        let device_error = std::sync::Arc::new(std::sync::Mutex::new(None::<String>));
        let sink = device_error.clone();
        device.on_uncaptured_error(std::sync::Arc::new(move |e| {
            let mut slot = sink.lock().unwrap();
            if slot.is_none() {
                *slot = Some(e.to_string());
            }
        }));
        let binding_limit = limits
            .max_storage_buffer_binding_size
            .min(limits.max_buffer_size);
        let mut max_chunk_bytes = binding_limit;
        if let Some(user) = user_chunk_bytes {
            if user < 256 {
                bail!("chunk limit of {user} bytes is below 256");
            }
            max_chunk_bytes = max_chunk_bytes.min(user);
        }
        // Keep chunks a multiple of 256 bytes so that any offset inside stays aligned.
        max_chunk_bytes &= !255;
        Ok(Self {
            device,
            queue,
            adapter: summary,
            limits,
            features,
            max_chunk_bytes,
            device_error,
        })
    }

    /// The first device error since the last check, as an error.
    fn check_device_error(&self) -> Result<()> {
        match self.device_error.lock().unwrap().take() {
            Some(e) => Err(anyhow!("GPU error: {e}")),
            None => Ok(()),
        }
    }

    pub fn has_timestamps(&self) -> bool {
        self.features.contains(wgpu::Features::TIMESTAMP_QUERY)
    }

    /// Submits the encoder's work and waits for it, with the hang timeout.
    pub fn submit_and_wait(&self, encoder: wgpu::CommandEncoder) -> Result<()> {
        let index = self.queue.submit([encoder.finish()]);
        let polled = self.device.poll(wgpu::PollType::Wait {
            submission_index: Some(index),
            timeout: Some(WAIT_TIMEOUT),
        });
        // A device error explains a failed wait better than the wait's own message.
        self.check_device_error()?;
        polled.map_err(|e| anyhow!("waiting for the GPU: {e}"))?;
        Ok(())
    }

    /// Waits for all submitted work.
    pub fn wait_idle(&self) -> Result<()> {
        let polled = self.device.poll(wgpu::PollType::Wait {
            submission_index: None,
            timeout: Some(WAIT_TIMEOUT),
        });
        self.check_device_error()?;
        polled.map_err(|e| anyhow!("waiting for the GPU: {e}"))?;
        Ok(())
    }

    pub fn encoder(&self, label: &str) -> wgpu::CommandEncoder {
        self.device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(label) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wgpu::{AdapterInfo, Backend, DeviceType};

    fn info(name: &str, device_type: DeviceType, backend: Backend) -> AdapterInfo {
        AdapterInfo {
            name: name.to_string(),
            ..AdapterInfo::new(device_type, backend)
        }
    }

    #[test]
    fn adapters_rank_by_kind_then_api_and_software_comes_last() {
        let mut list = [
            info("llvmpipe (LLVM 15)", DeviceType::Cpu, Backend::Vulkan),
            info(
                "Microsoft Basic Render Driver",
                DeviceType::Other,
                Backend::Dx12,
            ),
            info("Intel UHD 770", DeviceType::IntegratedGpu, Backend::Gl),
            info("virtio-gpu", DeviceType::VirtualGpu, Backend::Vulkan),
            info("Intel UHD 770", DeviceType::IntegratedGpu, Backend::Vulkan),
            info(
                "NVIDIA GeForce RTX 4070",
                DeviceType::DiscreteGpu,
                Backend::Gl,
            ),
            info("Apple M2", DeviceType::IntegratedGpu, Backend::Metal),
            info(
                "NVIDIA GeForce RTX 4070",
                DeviceType::DiscreteGpu,
                Backend::Dx12,
            ),
        ];
        list.sort_by_key(rank);
        let order: Vec<(String, &str)> = list
            .iter()
            .map(|i| (i.name.clone(), backend_name(i.backend)))
            .collect();
        let want = [
            ("NVIDIA GeForce RTX 4070", "dx12"),
            ("NVIDIA GeForce RTX 4070", "gl"),
            ("Intel UHD 770", "vulkan"),
            ("Apple M2", "metal"),
            ("Intel UHD 770", "gl"),
            ("virtio-gpu", "vulkan"),
            ("llvmpipe (LLVM 15)", "vulkan"),
            ("Microsoft Basic Render Driver", "dx12"),
        ];
        let want: Vec<(String, &str)> = want.iter().map(|(n, b)| (n.to_string(), *b)).collect();
        assert_eq!(order, want);
        // WARP reports no CPU device type on some drivers; its name gives it away.
        assert!(is_software(&list[7]));
        assert!(!is_software(&list[5]));
    }

    #[test]
    fn adapter_specs_parse_and_match() {
        let gl: AdapterSpec = "gl:LLVMpipe".parse().unwrap();
        assert_eq!(gl.backend, Some(Backend::Gl));
        assert!(gl.matches(&info("llvmpipe (LLVM 15)", DeviceType::Cpu, Backend::Gl)));
        assert!(!gl.matches(&info(
            "llvmpipe (LLVM 15)",
            DeviceType::Cpu,
            Backend::Vulkan
        )));
        let any: AdapterSpec = "rtx".parse().unwrap();
        assert_eq!(any.backend, None);
        assert!(any.matches(&info("NVIDIA RTX", DeviceType::DiscreteGpu, Backend::Dx12)));
        let all_vulkan: AdapterSpec = "Vulkan:".parse().unwrap();
        assert!(all_vulkan.matches(&info("x", DeviceType::Cpu, Backend::Vulkan)));
        assert_eq!(all_vulkan.to_string(), "vulkan:");
        let err = "cuda:rtx".parse::<AdapterSpec>().unwrap_err().to_string();
        assert!(err.contains("vulkan, metal, dx12, gl"), "{err}");
    }
}
