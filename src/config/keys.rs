/// The keys a profile may set. The first eight are the corpus dialect; FIT_TARGET was read by
/// start.sh but never used; STRATEGY is profilec's own (pinned placement, docs/models-conf.md);
/// TTL is the idle time after which a router or llama-swap unloads the model (docs/coresidency.md);
/// RUNTIME picks the server (llama-server, or vLLM for a Hugging Face model directory: docs/vllm.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Key {
    Name,
    Description,
    Speed,
    Model,
    CtxSize,
    NGpuLayers,
    Fit,
    FitTarget,
    ExtraArgs,
    Strategy,
    Ttl,
    Runtime,
}

impl Key {
    pub const ALL: [Key; 12] = [
        Key::Name,
        Key::Description,
        Key::Speed,
        Key::Model,
        Key::CtxSize,
        Key::NGpuLayers,
        Key::Fit,
        Key::FitTarget,
        Key::ExtraArgs,
        Key::Strategy,
        Key::Ttl,
        Key::Runtime,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Key::Name => "NAME",
            Key::Description => "DESCRIPTION",
            Key::Speed => "SPEED",
            Key::Model => "MODEL",
            Key::CtxSize => "CTX_SIZE",
            Key::NGpuLayers => "N_GPU_LAYERS",
            Key::Fit => "FIT",
            Key::FitTarget => "FIT_TARGET",
            Key::ExtraArgs => "EXTRA_ARGS",
            Key::Strategy => "STRATEGY",
            Key::Ttl => "TTL",
            Key::Runtime => "RUNTIME",
        }
    }

    /// Exact match only: start.sh compared keys byte for byte, so `name` or `NAME ` never worked.
    pub fn parse(s: &str) -> Option<Key> {
        Key::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The llama-server flag this key becomes, if any.
    pub fn flag(self) -> Option<&'static str> {
        match self {
            Key::Model => Some("--model"),
            Key::CtxSize => Some("--ctx-size"),
            Key::NGpuLayers => Some("--n-gpu-layers"),
            Key::Fit => Some("--fit"),
            Key::FitTarget => Some("--fit-target"),
            _ => None,
        }
    }
}
