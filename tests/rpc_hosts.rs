//! Remote hosts: `[[rpc]]` in profilec.toml and `hw --rpc`, which speaks llama.cpp's RPC protocol
//! to running rpc-servers. The good path talks to real `ggml-rpc-server`s on 127.0.0.1; the bad
//! inputs are real TCP listeners that misbehave in one way each (no answer, text, a hang-up in
//! the handshake, another protocol version). Every case must end with a clear error, not a hang.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread::JoinHandle;

use serde_json::Value;

use crate::support::{output_within, profilec, rpc_server_bin, start_rpc};

/// `hw --rpc LIST` with a 1 s timeout; (exit code, stdout, stderr).
fn hw_rpc(list: &str, extra: &[&str]) -> (Option<i32>, String, String) {
    let out = output_within(
        profilec()
            .args(["hw", "--rpc", list, "--rpc-timeout", "1"])
            .args(extra),
    );
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The (total, free) MiB of the first device in the rpc-server's banner line
/// `  CPU: <description> (24105 MiB, 24105 MiB free)`.
fn banner_memory(text: &str) -> (u64, u64) {
    let line = text
        .lines()
        .skip_while(|l| !l.starts_with("Devices:"))
        .nth(1)
        .unwrap_or_else(|| panic!("no device line in\n{text}"));
    let inner = line
        .rsplit_once('(')
        .and_then(|(_, r)| r.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{line}"));
    let nums: Vec<u64> = inner
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    (nums[0], nums[1])
}

#[test]
fn hw_rpc_reports_what_the_rpc_server_prints_and_writes_it() {
    let Some(bin) = rpc_server_bin() else { return };
    let servers = [start_rpc(&bin), start_rpc(&bin)];
    let list = format!("{},{}", servers[0].endpoint(), servers[1].endpoint());
    let (code, out, err) = hw_rpc(&list, &["--format", "json"]);
    assert_eq!(code, Some(0), "{out}{err}");
    let v: Value = serde_json::from_str(&out).expect("json");
    for (i, s) in servers.iter().enumerate() {
        let (total, free) = banner_memory(&s.output());
        let reported = &v["servers"][i];
        assert_eq!(reported["endpoint"], s.endpoint().as_str());
        assert_eq!(reported["version"], "7.0.0");
        assert_eq!(reported["devices"][0]["total_mib"], total, "{out}");
        // Free memory moves with everything else on the machine: printed, not compared.
        println!(
            "{}: banner {total} MiB total, {free} free; hw --rpc {}",
            s.endpoint(),
            reported["devices"][0]
        );
    }

    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("profilec.toml");
    std::fs::write(&file, "# my rig\n[cpu]\nram_mib = 32768\n").expect("seed file");
    let (code, out, err) = hw_rpc(&list, &["--write", file.to_str().expect("utf-8")]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("RPC1") && out.contains("updated"), "{out}");
    let shown = output_within(profilec().args([
        "hw",
        "--hardware",
        file.to_str().expect("utf-8"),
        "--format",
        "json",
    ]));
    let v: Value = serde_json::from_slice(&shown.stdout).expect("json");
    assert_eq!(v["diagnostics"], Value::Array(vec![]), "{v}");
    let gpus = v["machine"]["gpus"].as_array().expect("devices");
    assert_eq!(gpus.len(), 2, "{v}");
    for (i, s) in servers.iter().enumerate() {
        assert_eq!(gpus[i]["id"], format!("RPC{i}").as_str());
        assert_eq!(gpus[i]["endpoint"], s.endpoint().as_str());
        assert_eq!(gpus[i]["server_index"], 0);
    }
    let text = std::fs::read_to_string(&file).expect("written");
    assert!(
        text.starts_with("# my rig\n[cpu]\nram_mib = 32768\n"),
        "{text}"
    );
}

/// A one-connection TCP server that does `behave` with the accepted socket.
fn listener(behave: fn(std::net::TcpStream)) -> (String, JoinHandle<()>) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = l.local_addr().expect("addr").to_string();
    let h = std::thread::spawn(move || {
        if let Ok((s, _)) = l.accept() {
            behave(s);
        }
    });
    (addr, h)
}

/// Reads the client's HELLO (1 + 8 + 24 bytes).
fn read_hello(s: &mut std::net::TcpStream) -> bool {
    let mut hello = [0u8; 33];
    s.read_exact(&mut hello).is_ok() && hello[0] == 14
}

fn assert_error(list: &str, code: &str, words: &str) {
    let (exit, out, err) = hw_rpc(list, &[]);
    assert_eq!(exit, Some(2), "{out}{err}");
    assert!(err.contains(&format!("error[{code}]")), "{code}: {err}");
    assert!(err.contains(words), "{words}: {err}");
    assert!(err.contains("help: "), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn an_endpoint_nobody_listens_on_is_unreachable() {
    let port = crate::support::free_port();
    assert_error(
        &format!("127.0.0.1:{port}"),
        "rpc::unreachable",
        "cannot connect to the rpc-server",
    );
}

#[test]
fn a_port_that_never_answers_times_out() {
    let (addr, h) = listener(|mut s| {
        // Accepts and reads, answers nothing; returns when the client gives up.
        let mut buf = [0u8; 64];
        while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
    });
    assert_error(&addr, "rpc::timeout", "did not answer the HELLO handshake");
    h.join().expect("listener");
}

#[test]
fn a_text_service_is_not_an_rpc_server() {
    let (addr, h) = listener(|mut s| {
        let _ = s.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n");
    });
    assert_error(&addr, "rpc::not-rpc-server", "HTTP/1.1");
    h.join().expect("listener");
}

#[test]
fn a_server_that_hangs_up_mid_handshake_is_reported() {
    let (addr, h) = listener(|mut s| {
        read_hello(&mut s);
        // Half a reply, then the connection closes.
        let _ = s.write_all(&28u64.to_le_bytes());
        let _ = s.write_all(&[7, 0]);
    });
    assert_error(
        &addr,
        "rpc::closed",
        "closed the connection during the HELLO",
    );
    h.join().expect("listener");
}

#[test]
fn another_protocol_version_is_a_mismatch() {
    let (addr, h) = listener(|mut s| {
        if read_hello(&mut s) {
            let mut reply = vec![0u8; 28];
            reply[..3].copy_from_slice(&[6, 1, 0]);
            let _ = s.write_all(&28u64.to_le_bytes());
            let _ = s.write_all(&reply);
        }
    });
    assert_error(&addr, "rpc::version-mismatch", "protocol 6.1.0");
    h.join().expect("listener");
}

#[test]
fn a_duplicate_or_malformed_endpoint_is_refused_before_connecting() {
    assert_error(
        "127.0.0.1:1,127.0.0.1:1",
        "rpc::duplicate-endpoint",
        "listed twice",
    );
    assert_error("127.0.0.1", "rpc::bad-endpoint", "no `:PORT`");
}

#[test]
fn profilec_toml_rpc_hosts_are_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("profilec.toml");
    std::fs::write(
        &file,
        "[[rpc]]\nendpoint = \"10.0.0.2:50052\"\n[[rpc.device]]\nname = \"CPU\"\ntotal_mib = 31958\n\n\
         [[rpc]]\nendpoint = \"10.0.0.2:50052\"\n[[rpc.device]]\ntotal_mib = 1\n\n\
         [[rpc]]\nendpoint = \"10.0.0.3\"\n[[rpc.device]]\ntotal_mib = 1\n\n\
         [[rpc]]\nendpoint = \"10.0.0.4:1\"\n",
    )
    .expect("file");
    let out = output_within(profilec().args([
        "hw",
        "--hardware",
        file.to_str().expect("utf-8"),
        "--format",
        "json",
    ]));
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let codes: Vec<&str> = v["diagnostics"]
        .as_array()
        .expect("diagnostics")
        .iter()
        .filter_map(|d| d["code"].as_str())
        .collect();
    assert_eq!(
        codes,
        [
            "hw::rpc-duplicate-endpoint",
            "hw::rpc-bad-endpoint",
            "hw::missing-key"
        ],
        "{v}"
    );
    let dup = &v["diagnostics"][0];
    assert_eq!(dup["line"], 8, "points at the second endpoint: {dup}");
    assert_eq!(v["machine"]["gpus"][0]["id"], "RPC0");
    assert_eq!(v["machine"]["gpus"][0]["name"], "CPU on 10.0.0.2:50052");
}

#[test]
fn rpc_buffers_map_back_to_their_devices() {
    // Lines as b11434 prints them with `--rpc A,B` (-lv 4).
    let log = "\
0.00.033.673 I llama_prepare_model_devices: using device RPC0 (127.0.0.1:33105) (unknown id) - 24105 MiB free
0.00.033.858 I llama_prepare_model_devices: using device RPC1 (127.0.0.1:33106) (unknown id) - 24105 MiB free
0.00.047.025 I load_tensors: RPC0[127.0.0.1:33105] model buffer size =     0.16 MiB
0.00.047.025 I load_tensors: RPC0[127.0.0.1:33106] model buffer size =     0.07 MiB
0.00.048.826 I llama_kv_cache: RPC0[127.0.0.1:33105] KV buffer size =     0.19 MiB
0.00.051.786 I sched_reserve: RPC0[127.0.0.1:33106] compute buffer size =     4.30 MiB
";
    let r = profilec::startup_log::parse(log).expect("log");
    assert_eq!(r.devices[1].description.as_deref(), Some("127.0.0.1:33106"));
    let rows: Vec<(&str, f64, f64)> = r
        .per_device
        .iter()
        .map(|d| (d.device.as_str(), d.weights_mib, d.compute_mib))
        .collect();
    assert_eq!(rows, [("RPC0", 0.16, 0.0), ("RPC1", 0.07, 4.3)]);
}

#[test]
fn preflight_refuses_a_device_with_less_free_memory_than_planned() {
    use profilec::budget::{Program, plan};
    use profilec::hardware::{RpcDeviceMemory as DeviceMemory, ServerInfo};
    use profilec::resolve::{Effective, Origin, apply_args};

    let hw = profilec::hardware::parse(
        "[[rpc]]\nendpoint = \"127.0.0.1:50052\"\n[[rpc.device]]\nname = \"CPU\"\ntotal_mib = 16384\n\n[cpu]\nram_mib = 16384\n",
        std::path::Path::new("."),
    );
    assert!(hw.diagnostics.is_empty(), "{:?}", hw.diagnostics);
    let machine = hw.hardware.machine_for(Some("127.0.0.1:50052"));
    let mut eff = Effective::default();
    apply_args(&mut eff, "-ngl 99 -c 4096 -fit off", Origin::ExtraArgs);
    let p = plan(
        &crate::support::fixture("llama-gqa.gguf"),
        &eff.options().expect("options"),
        &machine,
        Program::LlamaServer,
    )
    .expect("plan");
    let planned = p.device("RPC0").expect("RPC0 planned").total_mib;
    assert!(planned > 1.0, "{planned}");
    let server = |free_mib| ServerInfo {
        endpoint: "127.0.0.1:50052".into(),
        version: "7.0.0".into(),
        devices: vec![DeviceMemory {
            total_mib: 16384,
            free_mib,
        }],
    };
    assert!(profilec::project::check_free(&machine, &p, &[server(16000)]).is_ok());
    let e = profilec::project::check_free(&machine, &p, &[server(1)]).expect_err("too little");
    assert_eq!(e.code(), "rpc::not-enough-memory");
    assert!(
        e.to_string()
            .contains("RPC0 (127.0.0.1:50052, device 0 there) has 1 MiB free"),
        "{e}"
    );
}

#[test]
fn check_reports_rpc_use_the_hardware_cannot_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let conf = dir.path().join("models.conf");
    // check reads profilec.toml when there is a models directory to plan from.
    std::fs::create_dir(dir.path().join("models")).expect("models dir");
    std::fs::write(
        &conf,
        "[a]\nNAME=A\nMODEL=m.gguf\nEXTRA_ARGS=--rpc 10.0.0.2:50052,10.0.0.7:50052\n\n\
         [b]\nNAME=B\nMODEL=m.gguf\nEXTRA_ARGS=--rpc 8.8.8.8:50052\n",
    )
    .expect("conf");
    let check = |toml: &str| {
        std::fs::write(dir.path().join("profilec.toml"), toml).expect("toml");
        let out = output_within(
            profilec()
                .arg("check")
                .arg(&conf)
                .args(["--format", "json"]),
        );
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let v: Value = serde_json::from_str(text.lines().next().unwrap_or("{}")).expect("json");
        let codes: Vec<String> = v["diagnostics"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|d| d["code"].as_str())
                    .filter(|c| c.starts_with("rpc::"))
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        (codes, v)
    };
    let (codes, v) = check("[cpu]\nram_mib = 8192\n");
    assert_eq!(codes, ["rpc::no-rpc-hosts", "rpc::no-rpc-hosts"], "{v}");
    let (codes, v) = check(
        "[cpu]\nram_mib = 8192\n\n[[rpc]]\nendpoint = \"10.0.0.2:50052\"\n[[rpc.device]]\ntotal_mib = 8192\n\n\
         [[rpc]]\nendpoint = \"8.8.8.8:50052\"\n[[rpc.device]]\ntotal_mib = 8192\n",
    );
    assert_eq!(
        codes,
        ["rpc::undeclared-endpoint", "rpc::public-endpoint"],
        "{v}"
    );
}
