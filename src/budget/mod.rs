//! The memory model: what llama.cpp will allocate on each device for a launch, before anything
//! loads (docs/memory-model.md has every formula with its llama.cpp source).
//!
//! `ContextParams` is the one place where the effective options become llama.cpp's context
//! numbers (n_ctx padding, streams, batch clamps); every component reads it. `LayerPlacement`
//! says which device holds each layer; weights, KV and compute all read it.

mod component;
pub mod compute;
mod context;
mod kv;
mod placement;
mod plan;
mod render;
mod sched_view;
pub mod traffic;
mod weights;

pub use component::Component;
pub use context::{ContextParams, Program};
pub use kv::{
    CacheKind, KvCacheEstimate, KvError, RecurrentEstimate, check_block_sizes, kv_caches,
    output_bytes, recurrent,
};
pub use placement::{DeviceRef, LayerPlacement, PlacementError};
pub use plan::{
    ComponentRule, DevicePlan, KvCachePlan, MAX_SEQ, NamedMib, Plan, PlanError, RecurrentPlan, mib,
    plan, plan_model, within_max_seq,
};
pub use render::{Layout, render_human, render_human_in};
pub use weights::{
    TensorPlacement, WeightBuffer, WeightBufferSize, WeightRule, WeightsError, WeightsEstimate,
    estimate as estimate_weights, repacks_on_avx2,
};
