use std::path::Path;

use crate::gguf::ModelFacts;

/// `<family>-<size>-<quant>` as the corpus names profiles (glm-flash-q4, qwen35-35b-q6): from
/// `general.basename`/`name`, `size_label` and the file type, lower case, `[a-z0-9-]` only.
pub fn profile_id(facts: &ModelFacts, model_file: &Path) -> String {
    let g = &facts.general;
    let stem = model_file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let family = g.basename.clone().or(g.name.clone()).unwrap_or(stem);
    let mut parts = vec![slug(&family)];
    if let Some(size) = &g.size_label {
        let size = slug(size);
        if !parts[0].contains(&size) {
            parts.push(size);
        }
    }
    if let Some(q) = &g.quantization {
        let q = quant_short(q);
        if !parts.iter().any(|p| p.ends_with(&q)) {
            parts.push(q);
        }
    }
    let id = parts
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join("-");
    if id.is_empty() { "model".into() } else { id }
}

fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// `Q4_K_M` → `q4`, `Q8_0` → `q8`, `F16` → `f16`, `MXFP4_MOE` → `mxfp4`: the corpus' short form.
fn quant_short(q: &str) -> String {
    let lower = q.to_ascii_lowercase();
    let head = lower.split('_').next().unwrap_or(&lower);
    head.chars().filter(|c| c.is_ascii_alphanumeric()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_and_quants() {
        assert_eq!(slug("GLM-4.7 Flash"), "glm-4-7-flash");
        assert_eq!(quant_short("Q4_K_M"), "q4");
        assert_eq!(quant_short("Q8_0"), "q8");
        assert_eq!(quant_short("F16"), "f16");
    }
}
