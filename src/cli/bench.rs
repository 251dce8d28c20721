use std::path::PathBuf;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::check::Format;
use crate::bench::{self, BenchError, BenchRequest, Event, Matrix};

/// The prompt set shipped with profilec (data/bench/prompts.jsonl), used without --prompts.
const DEFAULT_PROMPTS: &str = include_str!("../../data/bench/prompts.jsonl");

#[derive(clap::Args)]
pub struct Args {
    /// Profile ids (each runs as its `bench-<id>` twin when the file has one).
    #[arg(required = true, add = super::profile_id_candidates())]
    ids: Vec<String>,
    /// The models.conf (default: the nearest one here or above).
    #[arg(long)]
    file: Option<PathBuf>,
    /// Prompts with expected answers, JSONL (default: the built-in set).
    #[arg(long)]
    prompts: Option<PathBuf>,
    /// Matrix and [criteria], TOML.
    #[arg(long)]
    matrix: Option<PathBuf>,
    /// Repetitions of the prompt set per cell (overrides the matrix).
    #[arg(long)]
    runs: Option<u32>,
    /// Concurrency levels, e.g. 1,4 (overrides the matrix).
    #[arg(long, value_delimiter = ',')]
    concurrency: Option<Vec<u32>>,
    /// Context depths in tokens, e.g. 0,4096: filler before each prompt (overrides the matrix).
    #[arg(long, value_delimiter = ',')]
    depth: Option<Vec<u32>>,
    /// Criteria as KEY=VALUE,…, over the matrix's [criteria].
    #[arg(long)]
    criteria: Option<String>,
    /// Where runs go (default: .profilec/bench beside the models.conf).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Run directory name under --out (default: run-<unix seconds>).
    #[arg(long)]
    name: Option<String>,
    /// Attach to a running llama-server instead of launching (one id, no resource sampling).
    #[arg(long)]
    url: Option<String>,
    /// Hardware file (default: profilec.toml beside the models.conf, else detection).
    #[arg(long)]
    hardware: Option<PathBuf>,
    /// Run the launched servers at this niceness (0..=19; higher is lower priority), e.g. 10.
    #[arg(long, value_parser = clap::value_parser!(i32).range(0..=19))]
    nice: Option<i32>,
    /// Seconds to wait for /health.
    #[arg(long, default_value_t = 300)]
    timeout: u64,
    /// Also write plot.svg beside summary.json: t/s and p95 latency against peak RSS per profile.
    #[arg(long)]
    plot: bool,
    /// `json`: print summary.json on stdout, no progress bar.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
}

impl Args {
    pub(super) fn json(&self) -> bool {
        self.format == Format::Json
    }
}

pub fn run(args: Args) -> i32 {
    let conf = match super::conf_file(args.file.clone()) {
        Ok(f) => f,
        Err(code) => return code,
    };
    match build(&args, conf) {
        Ok(req) => execute(&req, args.json(), args.plot),
        Err(e) => super::fail(&e),
    }
}

fn build(args: &Args, conf: PathBuf) -> Result<BenchRequest, BenchError> {
    let prompts = match &args.prompts {
        Some(p) => bench::load_prompts(p)?,
        None => bench::parse_prompts(DEFAULT_PROMPTS, "data/bench/prompts.jsonl")?,
    };
    let mut matrix = match &args.matrix {
        Some(m) => bench::load_matrix(m)?,
        None => Matrix::default(),
    };
    if let Some(r) = args.runs {
        matrix.runs = r.max(1);
    }
    if let Some(c) = &args.concurrency {
        if c.is_empty() || c.contains(&0) {
            return Err(BenchError::Criteria(
                "--concurrency needs values ≥ 1".into(),
            ));
        }
        matrix.concurrency = c.clone();
    }
    if args.nice.is_some() && args.url.is_some() {
        return Err(BenchError::Criteria(
            "--nice applies to servers bench launches, not to one attached with --url".into(),
        ));
    }
    if let Some(d) = &args.depth {
        if d.is_empty() {
            return Err(BenchError::Criteria("--depth needs token counts".into()));
        }
        matrix.depth = d.clone();
    }
    if let Some(c) = &args.criteria {
        matrix.criteria.apply_cli(c)?;
    }
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| crate::observed::path_for(&conf).with_file_name("bench"));
    Ok(BenchRequest {
        conf,
        hardware: args.hardware.clone(),
        ids: args.ids.clone(),
        prompts,
        matrix,
        out,
        run_name: args.name.clone(),
        url: args.url.clone(),
        health_timeout: Duration::from_secs(args.timeout),
        nice: args.nice,
    })
}

fn execute(req: &BenchRequest, json: bool, plot: bool) -> i32 {
    let bar = ProgressBar::with_draw_target(
        None,
        if json {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        },
    );
    if let Ok(style) = ProgressStyle::with_template("{bar:30} {pos}/{len} requests  {msg}") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(500));
    let progress = |e: Event| match e {
        Event::Total(n) => bar.set_length(n),
        Event::Phase(m) => bar.set_message(m),
        Event::Request => bar.inc(1),
    };
    let outcome = bench::run(req, &progress);
    bar.finish_and_clear();
    let outcome = match outcome {
        Ok(o) => o,
        Err(e) => return super::fail(&e),
    };
    let s = &outcome.summary;
    if plot {
        match bench::write_plot(&outcome.run_dir, s) {
            Ok(path) => eprintln!("plot: {}", path.display()),
            Err(e) => return super::fail(&e),
        }
    }
    if json {
        println!("{}", serde_json::to_string_pretty(s).unwrap_or_default());
    } else {
        for p in &s.profiles {
            println!("{}", bench::describe(p));
        }
        println!(
            "{} — {}",
            if s.passed { "PASSED" } else { "FAILED" },
            outcome.run_dir.join("summary.json").display()
        );
    }
    outcome.exit_code()
}
