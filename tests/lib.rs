//! The one integration-test crate (like casey/just's `tests/lib.rs`): one module per area, one
//! binary to build and link. `support` holds what every area shares: the repository root, fixture
//! paths, the `profilec` command builder and the real llama.cpp programs and models.

mod support;

mod common;
mod compute_support;
mod launch_support;
mod solver_support;

mod budget_headers;
mod budget_lints;
mod budget_placement;
mod budget_real;
mod calibrate_errors;
mod calibrate_grid;
mod calibrate_real;
mod check_args;
mod cli_check;
mod compute_real;
mod compute_split;
mod conf_corpus;
mod conf_diagnostics;
mod conf_roundtrip;
mod fit_corpus;
mod fit_plan_cli;
mod flags_corpus;
mod flags_diagnostics;
mod flags_ot;
mod flags_props;
mod flags_table;
mod gguf_alloc;
mod gguf_cli;
mod gguf_facts;
mod gguf_fixtures;
mod gguf_hostile;
mod gguf_real;
mod gguf_split;
mod hardware_cli;
mod hardware_detect;
mod hardware_diagnostics;
mod hardware_profiles;
mod hardware_write;
mod launch_argv;
mod launch_foreground;
mod launch_real;
mod new_and_mark;
mod optimize;
mod place_check;
mod place_expand;
mod place_regex;
mod plan_cli;
mod preset_cli;
mod preset_diagnostics;
mod preset_real;
mod preset_roundtrip;
mod render;
mod resolve;
mod solver_corpus;
mod solver_plan_cli;
mod solver_props;
mod start_generated;
mod start_real;
mod startup_log_cli;
mod startup_log_fixtures;
mod startup_log_formats;
mod startup_log_props;
