//! Adapter discovery and choice, device creation with the adapter's own limits, and the
//! submit / wait helpers every GPU operation uses.

use std::time::Duration;

use anyhow::{anyhow, bail, Context as _, Result};

/// How long a wait for the GPU may take before it counts as a hang (software adapters have
/// been seen to hang; a failed run is better than a stuck one).
pub const WAIT_TIMEOUT: Duration = Duration::from_secs(300);

/// What the user asked for when choosing a device.
#[derive(Clone, Debug, Default)]
pub struct GpuOptions {
    /// Case-insensitive substring of the adapter name; `None` picks the best adapter.
    pub adapter: Option<String>,
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
            name: info.name,
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            driver: format!("{} {}", info.driver, info.driver_info)
                .trim()
                .to_string(),
            max_storage_binding_bytes: limits.max_storage_buffer_binding_size,
            max_buffer_bytes: limits.max_buffer_size,
            max_workgroup_storage_bytes: limits.max_compute_workgroup_storage_size,
            max_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
            max_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
            shader_f64: features.contains(wgpu::Features::SHADER_F64),
            timestamp_query: features.contains(wgpu::Features::TIMESTAMP_QUERY),
        }
    }

    /// True for adapters that run on the CPU (Mesa's lavapipe / llvmpipe, SwiftShader).
    pub fn is_software(&self) -> bool {
        self.device_type == "Cpu"
    }
}

fn adapters_of(backends: wgpu::Backends) -> Vec<wgpu::Adapter> {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
    desc.backends = backends;
    pollster::block_on(wgpu::Instance::new(desc).enumerate_adapters(backends))
}

/// Every adapter wgpu finds, best first. Vulkan adapters (real GPUs and lavapipe) only; GL is
/// asked only when there is no Vulkan adapter at all, since probing it on a headless machine
/// prints noise and its compute support is weaker.
pub fn list_adapters() -> Vec<wgpu::Adapter> {
    let mut adapters = adapters_of(wgpu::Backends::VULKAN);
    if adapters.is_empty() {
        adapters = adapters_of(wgpu::Backends::GL);
    }
    adapters.sort_by_key(rank);
    adapters
}

/// Every adapter of every backend hvp is built with (Vulkan and GL), best first: what
/// `hvp adapters` shows.
pub fn list_all_adapters() -> Vec<wgpu::Adapter> {
    let mut adapters = adapters_of(wgpu::Backends::VULKAN | wgpu::Backends::GL);
    adapters.sort_by_key(rank);
    adapters
}

/// Lower is better: real GPUs before software ones, Vulkan before GL.
fn rank(adapter: &wgpu::Adapter) -> (u8, u8) {
    let info = adapter.get_info();
    let device = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    };
    let backend = match info.backend {
        wgpu::Backend::Vulkan => 0,
        wgpu::Backend::Metal | wgpu::Backend::Dx12 => 1,
        _ => 2,
    };
    (device, backend)
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
        let adapters = list_adapters();
        if adapters.is_empty() {
            bail!("wgpu found no adapter (no Vulkan or GL driver; on Debian, mesa-vulkan-drivers provides the lavapipe software adapter)");
        }
        let adapter = match &options.adapter {
            Some(want) => {
                let want_lc = want.to_lowercase();
                adapters
                    .into_iter()
                    .find(|a| a.get_info().name.to_lowercase().contains(&want_lc))
                    .ok_or_else(|| {
                        let names: Vec<String> =
                            list_adapters().iter().map(|a| a.get_info().name).collect();
                        anyhow!("no adapter name contains {want:?}; found: {names:?}")
                    })?
            }
            None => adapters.into_iter().next().expect("not empty"),
        };
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
        if let Some(user) = options.max_chunk_bytes {
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
