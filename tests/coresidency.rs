//! Many models on one machine (docs/coresidency.md): `plan --together`, `plan --sets`, the
//! safe `--models-max`, the router preset and the llama-swap export.

use std::process::Output;
use std::time::Duration;

use crate::support::{self, root};
use profilec::launch::http;

use crate::support::stdout_json as json;
use profilec::coresidency::{DeviceUse, Footprint, co_resident_sets, fits, safe_models_max};
use profilec::hardware::{Device, DeviceKind, Machine};
use proptest::prelude::*;
use serde_json::Value;

fn profilec(args: &[&str]) -> Output {
    support::profilec_in(args, &root())
}

/// The standard output of a profilec run that must succeed.
fn stdout_ok(args: &[&str]) -> String {
    let out = profilec(args);
    support::stdout_ok_for(&out, &format!("{args:?}"));
    String::from_utf8(out.stdout).expect("utf-8")
}

const EXAMPLE: &str = "profiles/models.conf";
const OVERHEAD_MIB: f64 = 500.0; // [runtime] cuda_overhead_mib of profiles/profilec.toml

/// The single plan `plan ID` reports for what is launched: fit's plan for a FIT profile.
fn single_plan(id: &str) -> Value {
    let v = json(&profilec(&["plan", id, EXAMPLE, "--format", "json"]));
    match v.get("fit_prediction").and_then(|f| f.get("plan")) {
        Some(p) => p.clone(),
        None => v,
    }
}

#[test]
fn together_is_the_sum_of_single_plans_plus_one_process_overhead_per_gpu_per_model() {
    let report =
        profilec::check::check_file(&root().join(EXAMPLE), &Default::default()).expect("example");
    let ids: Vec<&str> = report
        .conf
        .profiles
        .iter()
        .map(|p| p.id.value.as_str())
        .collect();
    assert_eq!(ids.len(), 6);
    let mut args = vec!["plan", "--together"];
    args.extend(&ids);
    args.extend([EXAMPLE, "--format", "json"]);
    let out = profilec(&args);
    support::stdout_ok(&out);
    let together = json(&out);
    let singles: Vec<Value> = ids.iter().map(|id| single_plan(id)).collect();
    let devices = together["devices"].as_array().expect("devices");
    assert_eq!(devices.len(), 3, "CUDA0, CUDA1, CPU");
    for dev in devices {
        let name = dev["name"].as_str().expect("name");
        let mut expected = 0.0;
        for s in &singles {
            let d = s["devices"]
                .as_array()
                .expect("devices")
                .iter()
                .find(|d| d["name"] == name)
                .expect("device in the single plan");
            let total = d["total_mib"].as_f64().expect("total");
            let own = d["overhead_mib"].as_f64().expect("overhead");
            // One CUDA context per GPU the process opens: every GPU, the main one with -sm none.
            let opened = s["placement"]["gpus"]
                .as_array()
                .expect("gpus")
                .iter()
                .any(|g| format!("CUDA{}", g.as_u64().unwrap_or(99)) == name);
            expected += total - own + if opened { OVERHEAD_MIB } else { 0.0 };
        }
        let got = dev["total_mib"].as_f64().expect("total");
        assert!(
            (got - expected).abs() < 0.011 * ids.len() as f64,
            "{name}: together {got} MiB, sum of singles {expected} MiB"
        );
        assert_eq!(dev["members"].as_array().map(Vec::len), Some(ids.len()));
    }
    // gemma3 runs with -sm none --main-gpu 0: no context on CUDA1.
    let cuda1 = &devices[1]["members"];
    let gemma = cuda1
        .as_array()
        .expect("members")
        .iter()
        .find(|m| m["id"] == "gemma3")
        .expect("gemma3");
    assert_eq!(gemma["mib"].as_f64(), Some(0.0));
    assert_eq!(together["fits"], Value::Bool(true));
}

/// A directory with `conf` as models.conf beside the rig with 1.25 GiB usable on CUDA0, where
/// any two of the example's profiles fit and no three do: three processes' CUDA contexts alone
/// exceed it (a pair fits, with the pipeline copies of a full two-GPU offload). Planned on b11434
/// (the rig's older build reserves more logits, which this synthetic rig is not about).
pub(crate) fn tight_rig(conf: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = std::fs::read_to_string(root().join("profiles/profilec.toml"))
        .expect("toml")
        .replace("llama_cpp_build = 8115", "")
        .replace("total_mib = 24564", "total_mib = 1536")
        .replace("total_mib = 16303", "total_mib = 8000")
        .replace(
            "models_dir = \"../models\"",
            &format!("models_dir = {:?}", root().join("models")),
        );
    std::fs::write(dir.path().join("profilec.toml"), toml).expect("write toml");
    std::fs::write(dir.path().join("models.conf"), conf).expect("write conf");
    dir
}

#[test]
fn together_reports_the_device_that_overflows() {
    let dir = tight_rig(&std::fs::read_to_string(root().join(EXAMPLE)).expect("example"));
    let conf = dir.path().join("models.conf");
    let conf = conf.to_str().expect("utf-8");
    let out = profilec(&[
        "plan",
        "--together",
        "llama-gqa",
        "qwen3moe",
        "gemma3",
        conf,
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("does not fit: CUDA0"), "{text}");
    let sets = json(&profilec(&["plan", "--sets", conf, "--format", "json"]));
    let max = &sets["models_max"];
    assert_eq!(max["value"].as_u64(), Some(2), "{sets:#}");
    assert!(
        max["why"]
            .as_str()
            .is_some_and(|w| w.starts_with("2: every 2 of the 6")),
        "{max}"
    );
    let preset = profilec(&["render", "--all", conf, "--format", "preset"]);
    let text = String::from_utf8_lossy(&preset.stdout).into_owned();
    assert!(text.contains("--models-max 2\n"), "{text}");

    // check: the rendered preset (beside the same profilec.toml) is quiet; a router allowed 3,
    // or left at llama-server's default 4, is warned about.
    let ini = dir.path().join("router.ini");
    let ini_s = ini.to_str().expect("utf-8");
    let warnings = |text: &str| {
        std::fs::write(&ini, text).expect("write preset");
        let v = json(&profilec(&["check", ini_s, "--format", "json"]));
        v["diagnostics"]
            .as_array()
            .expect("diagnostics")
            .iter()
            .filter(|d| d["code"] == "preset::models-max-unsafe")
            .map(|d| d["message"].as_str().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(warnings(&text), Vec::<String>::new());
    let three = warnings(&text.replace("--models-max 2\n", "--models-max 3\n"));
    assert_eq!(three.len(), 1, "{three:?}");
    assert!(
        three[0].contains("with --models-max 3") && three[0].contains("only 2 fit together"),
        "{three:?}"
    );
    let default: String = text
        .lines()
        .filter(|l| !l.contains("--models-max"))
        .map(|l| format!("{l}\n"))
        .collect();
    let four = warnings(&default);
    assert!(
        four.len() == 1 && four[0].contains("default --models-max 4"),
        "{four:?}"
    );
}

#[test]
fn an_unknown_id_in_together_says_which_ids_exist() {
    let out = profilec(&["plan", "--together", "llama-gqa", "lama-gqa", EXAMPLE]);
    // An id the file does not have is a usage error, as for every verb (docs/diagnostics.md).
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("no profile `lama-gqa`") && err.contains("llama-gqa"),
        "{err}"
    );
}

fn gpu(id: &str, capacity: u64) -> Device {
    Device {
        id: id.into(),
        kind: DeviceKind::Gpu,
        name: id.into(),
        total_mib: capacity,
        reserved_mib: 0,
        capacity_mib: capacity,
        speed: 1.0,
        drives_display: false,
        endpoint: None,
        server_index: None,
    }
}

fn machine(caps: [u64; 3]) -> Machine {
    let mut cpu = gpu("CPU", caps[2]);
    cpu.kind = DeviceKind::Cpu;
    Machine {
        gpus: vec![gpu("CUDA0", caps[0]), gpu("CUDA1", caps[1])],
        cpu,
        cuda_overhead_mib: 500,
        llama_cpp_build: None,
        llama_cpp_build_from: None,
    }
}

fn footprint(i: usize, mib: [u32; 3]) -> Footprint {
    Footprint {
        id: format!("p{i}"),
        devices: ["CUDA0", "CUDA1", "CPU"]
            .iter()
            .zip(mib)
            .map(|(n, m)| DeviceUse {
                name: (*n).into(),
                mib: f64::from(m),
                overhead_mib: 0.0,
            })
            .collect(),
    }
}

fn subsets(n: usize) -> impl Iterator<Item = Vec<usize>> {
    (0u32..1 << n).map(move |mask| (0..n).filter(|i| mask & (1 << i) != 0).collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// The safe --models-max is proven by enumeration: every set of that size fits, and some set
    /// one larger does not (unless it is every profile).
    #[test]
    fn safe_models_max_is_proven_by_enumeration(
        sizes in prop::collection::vec(prop::array::uniform3(0u32..6000), 1..7),
        caps in prop::array::uniform3(1000u64..16000),
    ) {
        let m = machine(caps);
        let all: Vec<Footprint> = sizes.iter().enumerate().map(|(i, s)| footprint(i, *s)).collect();
        let (n, witness) = safe_models_max(&all, &m);
        let fits_set = |s: &[usize]| fits(&s.iter().map(|&i| &all[i]).collect::<Vec<_>>(), &m);
        for s in subsets(all.len()).filter(|s| s.len() == n) {
            prop_assert!(fits_set(&s), "a set of {} does not fit: {:?}", n, s);
        }
        if n < all.len() {
            prop_assert!(subsets(all.len()).any(|s| s.len() == n + 1 && !fits_set(&s)));
            let w = witness.expect("a counterexample");
            prop_assert_eq!(w.members.len(), n + 1);
            let idx: Vec<usize> = w.members.iter().map(|id| id[1..].parse().unwrap()).collect();
            prop_assert!(!fits_set(&idx));
        }
        // The maximal sets are exactly the fitting sets no profile can be added to.
        let sets = co_resident_sets(&all, Vec::new(), &m, 1_000_000);
        prop_assert!(sets.complete);
        let mut brute: Vec<Vec<String>> = subsets(all.len())
            .filter(|s| !s.is_empty() && fits_set(s))
            .filter(|s| (0..all.len()).filter(|j| !s.contains(j)).all(|j| {
                let mut t = s.clone();
                t.push(j);
                !fits_set(&t)
            }))
            .map(|s| s.iter().map(|&i| all[i].id.clone()).collect())
            .collect();
        let mut found = sets.maximal.clone();
        brute.sort();
        found.sort();
        prop_assert_eq!(found, brute);
        prop_assert!(sets.models_max.value >= 1);
    }
}

#[test]
fn the_set_search_stops_cleanly_at_its_limit() {
    // 12 profiles that each fill half of CUDA0: 66 maximal pairs, more evaluations than 50.
    let all: Vec<Footprint> = (0..12).map(|i| footprint(i, [4000, 0, 0])).collect();
    let m = machine([8000, 8000, 8000]);
    let sets = co_resident_sets(&all, Vec::new(), &m, 50);
    assert!(!sets.complete);
    assert_eq!(sets.steps, 51);
    assert_eq!(sets.models_max.value, 2);
    let full = co_resident_sets(&all, Vec::new(), &m, 1_000_000);
    assert!(full.complete);
    assert_eq!(full.maximal.len(), 66);
}

#[test]
fn a_profile_that_does_not_fit_alone_gives_models_max_one_with_the_reason() {
    let all = vec![footprint(0, [9000, 0, 0]), footprint(1, [10, 0, 0])];
    let sets = co_resident_sets(&all, Vec::new(), &machine([8000, 8000, 8000]), 1000);
    assert_eq!(sets.models_max.proven, 0);
    assert_eq!(sets.models_max.value, 1);
    assert!(
        sets.models_max.why.contains("does not fit even alone"),
        "{}",
        sets.models_max.why
    );
}

fn schema_validator() -> jsonschema::Validator {
    let text =
        std::fs::read_to_string(root().join("data/llama-swap-config-schema.json")).expect("schema");
    let schema: Value = serde_json::from_str(&text).expect("schema JSON");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

pub(crate) fn assert_valid_llama_swap(yaml: &str, what: &str) -> Value {
    let doc: Value = serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("{what}: {e}\n{yaml}"));
    let errors: Vec<String> = schema_validator()
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:#?}\n{yaml}");
    doc
}

#[test]
fn the_llama_swap_export_of_the_example_validates_and_groups_what_fits() {
    let yaml = stdout_ok(&["render", "--all", EXAMPLE, "--format", "llama-swap"]);
    let doc = assert_valid_llama_swap(&yaml, EXAMPLE);
    let models = doc["models"].as_object().expect("models");
    assert_eq!(models.len(), 6);
    for (id, m) in models {
        let cmd = m["cmd"].as_str().expect("cmd");
        assert!(cmd.contains("--port ${PORT}"), "{id}: {cmd}");
        let rendered = profilec(&["render", id, EXAMPLE, "--format", "json"]);
        let argv = json(&rendered)["argv"].clone();
        let words = profilec::render::sh_split(cmd).expect("cmd splits");
        let argv: Vec<String> = serde_json::from_value(argv).expect("argv");
        // words = program, argv with the port's value replaced by llama-swap's macro.
        let p = argv.iter().position(|a| a == "--port").expect("--port");
        assert_eq!(words[1..p + 2], argv[..p + 1], "{id}");
        assert_eq!(words[p + 2], "${PORT}");
        assert_eq!(words[p + 3..], argv[p + 2..], "{id}");
    }
    // Everything fits together on the rig: one group, all members, loaded side by side.
    let groups = doc["groups"].as_object().expect("groups");
    assert_eq!(groups.len(), 1);
    let g = groups.values().next().expect("group");
    assert_eq!(g["swap"], Value::Bool(false));
    assert_eq!(g["members"].as_array().map(Vec::len), Some(6));
}

#[test]
fn the_llama_swap_export_validates_for_every_corpus_models_conf() {
    let files = support::corpus_files();
    assert_eq!(files.len(), 23);
    // The rig, with a models directory that does not exist here: profiles render, none is planned.
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = std::fs::read_to_string(root().join("profiles/profilec.toml"))
        .expect("toml")
        .replace(
            "models_dir = \"../models\"",
            "models_dir = \"no-models-here\"",
        );
    std::fs::write(dir.path().join("profilec.toml"), toml).expect("toml");
    for f in files {
        let conf = dir.path().join("models.conf");
        std::fs::copy(&f, &conf).expect("copy");
        let out = profilec(&[
            "render",
            "--all",
            conf.to_str().expect("utf-8"),
            "--format",
            "llama-swap",
        ]);
        let what = f.display().to_string();
        support::stdout_ok_for(&out, &what);
        let yaml = String::from_utf8(out.stdout).expect("utf-8");
        let doc = assert_valid_llama_swap(&yaml, &what);
        let n = doc["models"].as_object().map_or(0, |m| m.len());
        assert!(n > 0, "{what}");
        // Nothing planned: no group, so llama-swap runs one model at a time.
        assert!(doc.get("groups").is_none(), "{what}");
        assert!(yaml.contains("is in no group: not planned"), "{what}");
        let out = profilec(&[
            "render",
            "--all",
            conf.to_str().expect("utf-8"),
            "--format",
            "llama-swap-matrix",
        ]);
        let matrix = assert_valid_llama_swap(&support::stdout_ok_for(&out, &what), &what);
        assert!(
            matrix.get("matrix").is_none(),
            "{what}: no set is known to fit"
        );
        // plan --sets on the same file says why nothing is listed, and the cautious value.
        let out = profilec(&["plan", "--sets", conf.to_str().expect("utf-8")]);
        let sets = support::stdout_ok_for(&out, &what);
        assert!(
            sets.contains("  none (the profiles below could not be planned)\n")
                && sets.contains("safe --models-max 1: "),
            "{what}: {sets}"
        );
    }
}

#[test]
fn plan_sets_says_when_no_profile_has_roles() {
    let out = profilec(&["plan", "--sets", EXAMPLE]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("safe --models-max 6: all 6 profiles fit together"),
        "{text}"
    );
    assert!(
        text.contains(
            "per role group: no profile has ROLES, so the answer above is for all profiles"
        ),
        "{text}"
    );
}

// ---- the real router -------------------------------------------------------------------------

fn completion(port: u16, model: &str) -> Value {
    let body = serde_json::json!({"model": model, "prompt": "Hello", "max_tokens": 4}).to_string();
    let r = http::post_json(
        "127.0.0.1",
        port,
        "/v1/completions",
        &body,
        Duration::from_secs(180),
    )
    .unwrap_or_else(|e| panic!("POST /v1/completions for {model}: {e}"));
    assert_eq!(r.status, 200, "{model}: {}", r.body);
    serde_json::from_str(&r.body).expect("completion JSON")
}

#[test]
fn the_router_runs_two_fixture_models_side_by_side_under_the_computed_models_max() {
    let Some(server) = support::real_server() else {
        return;
    };
    let text = stdout_ok(&["render", "--all", EXAMPLE, "--format", "preset"]);
    let models_max: u32 = text
        .lines()
        .find_map(|l| l.strip_prefix("; run: llama-server --models-preset THIS_FILE --models-max "))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no models-max line:\n{text}"));
    assert!(models_max >= 2, "{text}");

    let dir = tempfile::tempdir().expect("tempdir");
    let ini = dir.path().join("router.ini");
    std::fs::write(&ini, &text).expect("write");
    // The router passes its own arguments to every model instance. A native llama.cpp build
    // on a CPU that advertises AMX dies with SIGILL/SIGSEGV in the AMX repack where the VM does
    // not grant the tile state (.ci/run builds a portable one); without repack any build loads
    // the fixtures. Memory is not at stake here, only that the preset serves.
    let max = models_max.to_string();
    let mut router = support::start_router(
        &server,
        &ini,
        &["--models-max", &max, "--no-repack"],
        dir.path(),
    );
    router.models_when_ready(Duration::from_secs(60));
    let port = router.port;
    for model in ["llama-gqa", "gemma3"] {
        let v = completion(port, model);
        assert!(v["choices"][0]["text"].is_string(), "{model}: {v}");
    }
    // Both instances are loaded at the same time: nothing was unloaded to make room.
    let r = http::get("127.0.0.1", port, "/models", Duration::from_secs(5)).expect("GET /models");
    let v: Value = serde_json::from_str(&r.body).expect("JSON");
    let loaded: Vec<&str> = v["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter(|m| m["status"]["value"] == "loaded")
        .filter_map(|m| m["id"].as_str())
        .collect();
    assert!(
        loaded.contains(&"llama-gqa") && loaded.contains(&"gemma3"),
        "loaded: {loaded:?}"
    );
}

#[test]
fn ttl_becomes_the_llama_swap_ttl_and_a_bad_ttl_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let toml = std::fs::read_to_string(root().join("profiles/profilec.toml"))
        .expect("toml")
        .replace(
            "models_dir = \"../models\"",
            &format!("models_dir = {:?}", root().join("models")),
        );
    std::fs::write(dir.path().join("profilec.toml"), toml).expect("toml");
    let conf = dir.path().join("models.conf");
    let text = std::fs::read_to_string(root().join(EXAMPLE)).expect("example");
    let with_ttl = text.replace(
        "MODEL=gemma3-swa.gguf\n",
        "MODEL=gemma3-swa.gguf\nTTL=300\n",
    );
    std::fs::write(&conf, &with_ttl).expect("write");
    let conf_s = conf.to_str().expect("utf-8");
    let out = profilec(&["render", "--all", conf_s, "--format", "llama-swap"]);
    support::stdout_ok(&out);
    let doc = assert_valid_llama_swap(&String::from_utf8_lossy(&out.stdout), "TTL");
    assert_eq!(doc["models"]["gemma3"]["ttl"].as_u64(), Some(300));
    assert!(doc["models"]["llama-gqa"].get("ttl").is_none());

    std::fs::write(
        &conf,
        text.replace("MODEL=gemma3-swa.gguf\n", "MODEL=gemma3-swa.gguf\nTTL=5m\n"),
    )
    .expect("write");
    let out = profilec(&["check", conf_s]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad TTL") && err.contains("whole seconds"),
        "{err}"
    );
}
