//! `hw --write` changes only the values it records and keeps every other byte.

use crate::support;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use profilec::hardware::{self, update_toml};

const COMMENTED: &str = "\
# My rig. Keep this comment.
# Second header line.

[[gpu]]   # the big one
id = \"CUDA0\"
name = \"NVIDIA GeForce RTX 4090\"
total_mib = 24_564     # underscores stay when the value is unchanged
reserved_mib = 256
speed = 1.0            # hand-tuned
drives_display = false

# The display card.
[[gpu]]
id = \"CUDA1\"
name = \"NVIDIA GeForce RTX 5070 Ti\"
total_mib = 16303
reserved_mib = 3328
drives_display = true

[cpu]
# measured with free -m
ram_mib = 1            # will be replaced
os_reserve_mib = 777   # my choice, never overwritten
cores_physical = 1
cores_logical = 1
numa_nodes = 1
arch = \"x86_64\"

[defaults]
ctx-size = 131072      # comment in another section

[runtime]
models_dir = \"../models\"
";

/// Lines of `a` and `b` that differ, as (line number, before, after); both must have as many lines.
fn changed_lines<'a>(a: &'a str, b: &'a str) -> Vec<(usize, &'a str, &'a str)> {
    assert_eq!(
        a.lines().count(),
        b.lines().count(),
        "line count changed:\n{b}"
    );
    a.lines()
        .zip(b.lines())
        .enumerate()
        .filter(|(_, (x, y))| x != y)
        .map(|(i, (x, y))| (i + 1, x, y))
        .collect()
}

#[test]
fn cli_write_changes_only_cpu_values_and_keeps_comments() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profilec.toml");
    std::fs::write(&path, COMMENTED).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();

    let out = support::profilec()
        .args(["hw", "--write"])
        .arg(&path)
        .output()
        .unwrap();
    support::stdout_ok(&out);

    let after = std::fs::read_to_string(&path).unwrap();
    let cpu = hardware::detect_cpu();
    let changed = changed_lines(COMMENTED, &after);
    // Only the measured [cpu] values may differ; the value keeps its line, spacing and comment.
    for (n, before, now) in &changed {
        assert!(
            [22, 24, 25].contains(n),
            "line {n} changed: {before:?} -> {now:?}"
        );
        // Exactly the value token differs: key, spacing and comment are the same bytes.
        let (key, rest) = before.split_once(" = ").unwrap();
        let old_value = rest.split_whitespace().next().unwrap();
        let new_value = now[key.len() + 3..].split_whitespace().next().unwrap();
        assert_eq!(before.replacen(old_value, new_value, 1), *now);
    }
    assert!(after.contains(&format!(
        "ram_mib = {}            # will be replaced",
        cpu.ram_mib
    )));
    assert!(after.contains(&format!("cores_logical = {}\n", cpu.cores_logical)));
    // No NVIDIA driver here: the declared GPUs are not "detected away".
    if !Path::new("/dev/nvidiactl").exists() {
        assert!(after.contains("id = \"CUDA1\""));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("[[gpu]] left as declared"), "{stdout}");
    }
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o640);
    // Atomic write leaves no temp file behind.
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["profilec.toml"]);

    // A second write finds nothing to change and leaves the file alone.
    let again = support::profilec()
        .args(["hw", "--write"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("unchanged:"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), after);
}

#[test]
fn cli_write_defaults_to_profilec_toml_in_the_current_directory() {
    let dir = tempfile::tempdir().unwrap();
    let out = support::profilec()
        .args(["hw", "--write"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = std::fs::read_to_string(dir.path().join("profilec.toml")).unwrap();
    assert!(text.starts_with("# profilec hardware description (docs/hardware.md).\n"));
    let loaded = hardware::parse(&text, dir.path());
    assert!(loaded.diagnostics.is_empty(), "{:#?}", loaded.diagnostics);
    assert_eq!(loaded.hardware.cpu, hardware::detect_cpu());
}

/// The GPU path, with the reference rig as the "detected" machine.
#[test]
fn gpu_values_update_in_place_and_keep_policy_values() {
    let rig = hardware::load(&crate::support::root().join("profiles/profilec.toml"))
        .unwrap()
        .hardware;
    let mut gpus = rig.gpus.clone();
    gpus[0].speed = 0.9; // same card: the hand-tuned 1.0 stays
    gpus[1].reserved_mib = 3100;
    let up = update_toml(COMMENTED, &rig.cpu, Some(&gpus), Path::new("profilec.toml")).unwrap();
    assert_eq!((up.gpus_written, up.gpus_removed), (2, 0));
    // CUDA1 had no speed: the detected one is appended to its table, nothing else moves.
    let expected = COMMENTED
        .replace(
            "reserved_mib = 3328\ndrives_display = true\n",
            "reserved_mib = 3100\ndrives_display = true\nspeed = 0.7\n",
        )
        .replace("ram_mib = 1 ", "ram_mib = 64205 ")
        .replace("cores_physical = 1\n", "cores_physical = 12\n")
        .replace("cores_logical = 1\n", "cores_logical = 24\n");
    assert_eq!(up.text, expected);
}

#[test]
fn new_speed_is_appended_and_os_reserve_is_never_overwritten() {
    let rig = hardware::load(&crate::support::root().join("profiles/profilec.toml"))
        .unwrap()
        .hardware;
    let src = COMMENTED.replace("speed = 1.0            # hand-tuned\n", "");
    let up = update_toml(&src, &rig.cpu, Some(&rig.gpus), Path::new("x")).unwrap();
    assert!(
        up.text.contains("drives_display = false\nspeed = 1.0\n"),
        "{}",
        up.text
    );
    assert!(
        up.text
            .contains("os_reserve_mib = 777   # my choice, never overwritten")
    );
}

#[test]
fn removed_gpus_hand_their_header_comments_to_the_next_table() {
    let rig = hardware::load(&crate::support::root().join("profiles/profilec.toml"))
        .unwrap()
        .hardware;
    let up = update_toml(COMMENTED, &rig.cpu, Some(&rig.gpus[..1]), Path::new("x")).unwrap();
    assert_eq!((up.gpus_written, up.gpus_removed), (1, 1));
    assert!(!up.text.contains("CUDA1"));
    assert!(
        up.text
            .contains("# The display card.\n\n[cpu]\n# measured with free -m\n"),
        "{}",
        up.text
    );

    let up = update_toml(COMMENTED, &rig.cpu, Some(&[]), Path::new("x")).unwrap();
    assert_eq!(up.gpus_removed, 2);
    assert!(
        up.text.starts_with(
            "# My rig. Keep this comment.\n# Second header line.\n\n# The display card.\n\n[cpu]\n"
        ),
        "{}",
        up.text
    );
    assert!(
        hardware::parse(&up.text, Path::new("."))
            .hardware
            .gpus
            .is_empty()
    );
}

#[test]
fn invalid_toml_is_not_touched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("profilec.toml");
    std::fs::write(&path, "[cpu\n").unwrap();
    let out = support::profilec()
        .args(["hw", "--write"])
        .arg(&path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("is not valid TOML, so it was left untouched")
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "[cpu\n");
}
