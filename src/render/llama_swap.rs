//! A llama-swap `config.yaml` (github.com/mostlygeek/llama-swap, schema in
//! data/llama-swap-config-schema.json): one model per profile whose `cmd` is the rendered argv
//! with `--port ${PORT}` and whose `aliases` are its ROLES, and `groups` built from the
//! co-residency sets (docs/coresidency.md): the members of a group fit together, every group is
//! exclusive, and a model in no group runs alone, so only combinations that fit are ever loaded
//! at once.

use serde::Serialize;
use serde::ser::Serializer;

use super::llama_swap_matrix::{Matrix, matrix_of};
use super::{Rendered, shell_quote};
use crate::config::Profile;
use crate::coresidency::Sets;

/// How the config says which models may run together: llama-swap reads `groups` or `matrix`,
/// never both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SwapStyle {
    /// Disjoint groups of profiles that fit together (every llama-swap release with groups).
    Groups,
    /// Every maximal co-resident set as a matrix set (llama-swap releases with `matrix`).
    Matrix,
}

/// llama-swap's per-model port macro; llama-swap substitutes `${…}` macros in `cmd`.
const PORT_MACRO: &str = "${PORT}";
/// The schema's `maxLength` of `name` and `description`.
const NAME_MAX: usize = 128;
const DESCRIPTION_MAX: usize = 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("profile `{id}`: {why}")]
pub struct LlamaSwapError {
    pub id: String,
    pub why: String,
}

impl crate::error::Failure for LlamaSwapError {
    fn code(&self) -> &'static str {
        "render::llama-swap-macro"
    }
    fn help(&self) -> String {
        "llama-swap expands `${NAME}` in cmd as its own macro; change the value, or launch this profile with `profilec start`".into()
    }
    fn exit_code(&self) -> i32 {
        crate::error::exit::FAILED
    }
}

#[derive(Serialize)]
struct Model {
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    cmd: String,
    /// ROLES: llama-swap routes a request naming an alias to this model (aliases are unique
    /// across models, as `check` keeps roles: one profile per role, never an id).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    aliases: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ttl: Option<u64>,
}

#[derive(Serialize)]
struct Group {
    swap: bool,
    exclusive: bool,
    members: Vec<String>,
}

#[derive(Serialize)]
struct Config {
    models: Ordered<Model>,
    #[serde(skip_serializing_if = "Ordered::is_empty")]
    groups: Ordered<Group>,
    #[serde(skip_serializing_if = "Option::is_none")]
    matrix: Option<Matrix>,
}

/// A map that keeps the order it was built in (profiles in file order).
pub struct Ordered<V>(pub Vec<(String, V)>);

impl<V> Ordered<V> {
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<V: Serialize> Serialize for Ordered<V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter().map(|(k, v)| (k, v)))
    }
}

/// The llama-swap configuration of `profiles` (each with its rendered launch), with `sets` as
/// groups or as a matrix.
pub fn to_llama_swap(
    profiles: &[(&Profile, Rendered)],
    sets: &Sets,
    style: SwapStyle,
) -> Result<String, Vec<LlamaSwapError>> {
    let mut models = Vec::new();
    let mut errors = Vec::new();
    for (p, rendered) in profiles {
        match swap_cmd(&rendered.program.to_string_lossy(), &rendered.argv) {
            Ok(cmd) => models.push((
                p.id.value.clone(),
                Model {
                    name: p.name.as_ref().map(|n| clip(&n.value, NAME_MAX)),
                    description: p
                        .description
                        .as_ref()
                        .map(|d| clip(&d.value, DESCRIPTION_MAX)),
                    cmd,
                    aliases: p.role_names().to_vec(),
                    ttl: p.ttl.as_ref().map(|t| t.value),
                },
            )),
            Err(why) => errors.push(LlamaSwapError {
                id: p.id.value.clone(),
                why,
            }),
        }
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let ids: Vec<String> = models.iter().map(|(id, _)| id.clone()).collect();
    let (matrix, left_out) = match style {
        SwapStyle::Matrix => matrix_of(sets, &ids),
        SwapStyle::Groups => (None, 0),
    };
    let grouped = match style {
        SwapStyle::Groups => exclusive_groups(sets),
        SwapStyle::Matrix => Vec::new(),
    };
    let groups = grouped
        .into_iter()
        .enumerate()
        .map(|(i, members)| {
            (
                format!("fits-together-{}", i + 1),
                Group {
                    swap: false,
                    exclusive: true,
                    members,
                },
            )
        })
        .collect();
    let config = Config {
        models: Ordered(models),
        groups: Ordered(groups),
        matrix,
    };
    // One line per cmd: the folded `>-` style is valid YAML but hard to read and edit.
    let options = serde_saphyr::ser_options! { prefer_block_scalars: false };
    let yaml = serde_saphyr::to_string_with_options(&config, options).map_err(|e| {
        vec![LlamaSwapError {
            id: "*".into(),
            why: format!("YAML: {e}"),
        }]
    })?;
    let (format, what) = match style {
        SwapStyle::Groups => ("llama-swap", "group"),
        SwapStyle::Matrix => ("llama-swap-matrix", "set"),
    };
    let mut out = format!(
        "# generated by `profilec render --all --format {format}`; {what}s from `profilec plan --sets`:\n# the members of a {what} fit in memory together; a model in no {what} runs alone.\n",
    );
    if !sets.complete {
        out.push_str(&format!(
            "# the co-residency search stopped at its limit: some {what}s that fit are missing\n"
        ));
    }
    if left_out > 0 {
        out.push_str(&format!(
            "# {left_out} more sets fit but are left out: llama-swap reads at most {} combinations\n",
            super::llama_swap_matrix::MAX_COMBINATIONS
        ));
    }
    for u in &sets.unplanned {
        out.push_str(&format!(
            "# {} is in no {what}: not planned ({})\n",
            u.id, u.why
        ));
    }
    out.push_str(&yaml);
    Ok(out)
}

/// Disjoint groups that each fit together, largest first: llama-swap lets a model belong to one
/// group only. Any subset of a fitting set fits, so a maximal set minus the profiles already
/// grouped is still a fitting group. Groups of one are left out (a model in no group runs alone).
/// When the profiles with ROLES fit together, the first group holds them all, so every role can
/// be served at once.
pub fn exclusive_groups(sets: &Sets) -> Vec<Vec<String>> {
    let roles: &[String] = sets
        .role_group
        .as_ref()
        .filter(|g| g.fits && g.unplanned.is_empty())
        .map_or(&[], |g| g.members.as_slice());
    let mut taken: Vec<String> = Vec::new();
    let mut groups = Vec::new();
    loop {
        let best = sets
            .maximal
            .iter()
            .map(|s| {
                s.iter()
                    .filter(|id| !taken.contains(id))
                    .cloned()
                    .collect::<Vec<String>>()
            })
            .max_by_key(|g| (roles.iter().all(|r| g.contains(r)), g.len()));
        match best {
            Some(g) if g.len() >= 2 => {
                taken.extend(g.iter().cloned());
                groups.push(g);
            }
            _ => return groups,
        }
    }
}

/// `cmd`: the program and argv, shell-quoted as llama-swap's POSIX split reads them, with the
/// port llama-swap assigns.
fn swap_cmd(program: &str, argv: &[String]) -> Result<String, String> {
    let mut words = vec![shell_quote(program)];
    let mut after_port = false;
    for a in argv {
        if a.contains("${") {
            return Err(format!(
                "`{a}` contains `${{`, which llama-swap reads as a macro"
            ));
        }
        words.push(if after_port {
            PORT_MACRO.to_string()
        } else {
            shell_quote(a)
        });
        after_port = a == "--port";
    }
    if !argv.iter().any(|a| a == "--port") {
        words.push("--port".into());
        words.push(PORT_MACRO.into());
    }
    Ok(words.join(" "))
}

fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
