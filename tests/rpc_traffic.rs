//! `plan`'s network traffic against the bytes a real launch puts on the wire: two real
//! `ggml-rpc-server`s on 127.0.0.1, each behind a counting TCP proxy started here, Gemma 3 270M
//! split over them by `profilec start`. Two completions that differ only in the number of
//! generated tokens (9 and 17, same prompt, no prompt cache) differ by 8 token-generation
//! steps; their difference in bytes, per server and direction, divided by 8, is compared with
//! `plan --format json`'s `network.per_token` (CTX_SIZE 256 keeps the attention masks at their
//! planned width from the first token on). `--cache-ram 0 -ctxcp 0` turn off the server's
//! prompt cache and context checkpoints, which read KV rows back from the servers once per
//! request, by how much depending on the request before (measured: up to 9 KiB per layer).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use profilec::launch::http;
use serde_json::Value;

use crate::launch_support::{free_port, real_parts, rpc_rig, start_profile};
use crate::support::{RpcServer, output_within, profilec, rpc_server_bin, start_rpc};

/// A TCP proxy on a free loopback port that forwards to `target` and counts the bytes each way.
struct CountingProxy {
    port: u16,
    /// llama-server → rpc-server, rpc-server → llama-server.
    counts: Arc<[AtomicU64; 2]>,
    stop: Arc<AtomicBool>,
}

impl CountingProxy {
    fn start(target: u16) -> CountingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let port = listener.local_addr().expect("addr").port();
        let counts: Arc<[AtomicU64; 2]> = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
        let stop = Arc::new(AtomicBool::new(false));
        let (c, s) = (counts.clone(), stop.clone());
        std::thread::spawn(move || {
            for client in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = client else { continue };
                let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                    continue;
                };
                for (k, from, to) in [(0, &client, &server), (1, &server, &client)] {
                    let (Ok(from), Ok(to)) = (from.try_clone(), to.try_clone()) else {
                        continue;
                    };
                    let c = c.clone();
                    std::thread::spawn(move || pump(from, to, &c[k]));
                }
            }
        });
        CountingProxy { port, counts, stop }
    }

    fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn counts(&self) -> [u64; 2] {
        [0, 1].map(|k| self.counts[k].load(Ordering::SeqCst))
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, count: &AtomicU64) {
    let mut buf = vec![0u8; 1 << 16];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 || to.write_all(&buf[..n]).is_err() {
            break;
        }
        count.fetch_add(n as u64, Ordering::SeqCst);
    }
    let _ = to.shutdown(Shutdown::Write);
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

/// Bytes each proxy counted during one completion of `n_predict` tokens.
fn completion_bytes(port: u16, proxies: &[CountingProxy], n_predict: u32) -> Vec<[u64; 2]> {
    let before: Vec<[u64; 2]> = proxies.iter().map(CountingProxy::counts).collect();
    let body = format!(
        r#"{{"prompt":"Hello","n_predict":{n_predict},"cache_prompt":false,"ignore_eos":true}}"#
    );
    let r = http::post_json(
        "127.0.0.1",
        port,
        "/completion",
        &body,
        Duration::from_secs(120),
    )
    .expect("completion");
    assert_eq!(r.status, 200, "{}", r.body);
    let v: Value = serde_json::from_str(&r.body).expect("json");
    assert_eq!(v["tokens_predicted"], n_predict, "{v}");
    // The server answers after its last read from the rpc-servers; let the proxies' pumps drain.
    std::thread::sleep(Duration::from_millis(500));
    proxies
        .iter()
        .zip(before)
        .map(|(p, b)| {
            let now = p.counts();
            [now[0] - b[0], now[1] - b[1]]
        })
        .collect()
}

#[test]
fn planned_per_token_traffic_matches_the_bytes_on_the_wire() {
    let Some((_server, model)) = real_parts() else {
        return;
    };
    let Some(bin) = rpc_server_bin() else { return };
    let servers: Vec<RpcServer> = vec![start_rpc(&bin), start_rpc(&bin)];
    let proxies: Vec<CountingProxy> = servers
        .iter()
        .map(|s| CountingProxy::start(s.port))
        .collect();
    let port = free_port();
    let endpoints: Vec<String> = proxies.iter().map(CountingProxy::endpoint).collect();
    let dir = rpc_rig(
        &endpoints,
        &model,
        port,
        256,
        "-ts 1,1 -np 1 -t 2 -ub 64 --temp 0 --cache-ram 0 -ctxcp 0",
    );
    let conf = dir.path().join("models.conf");

    let plan = output_within(
        profilec()
            .args(["plan", "gemma-rpc"])
            .arg(&conf)
            .args(["--format", "json"]),
    );
    let plan: Value = serde_json::from_slice(&plan.stdout).expect("plan json");
    let network = &plan["network"];
    let hosts = network["per_token"]["hosts"].as_array().expect("hosts");
    assert_eq!(hosts.len(), 2, "{network}");

    let mut started = start_profile("gemma-rpc", &conf, port, 180);
    // The first request of a server differs (its graphs are new); the two measured ones follow
    // an equal one.
    completion_bytes(port, &proxies, 9);
    let short = completion_bytes(port, &proxies, 9);
    let long = completion_bytes(port, &proxies, 17);
    let _ = started.stop();

    for ((proxy, h), (s, l)) in proxies.iter().zip(hosts).zip(short.iter().zip(&long)) {
        assert_eq!(h["endpoint"], proxy.endpoint(), "{network}");
        for (k, key) in [(0, "sent_bytes"), (1, "received_bytes")] {
            let measured = (l[k] as f64 - s[k] as f64) / 8.0;
            let planned = h[key].as_f64().expect("bytes");
            println!(
                "{} {key} per token: plan {planned}, measured {measured}",
                proxy.endpoint()
            );
            assert!(
                (measured - planned).abs() <= planned * 0.01,
                "{} {key}: plan {planned} B per token, measured {measured} B ({network})",
                proxy.endpoint()
            );
        }
    }
}
