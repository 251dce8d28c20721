//! The order ggml-alloc allocates graph inputs in (`graph->leafs`).

use super::alloc::{EXTERNAL, Graph, Id};

/// The order ggml-alloc allocates the inputs in: `graph->leafs`, which `ggml_visit_parents`
/// fills depth-first (each node's sources left to right) from the tensors llama.cpp expands:
/// the explicit [`Graph::expand`] calls and the nodes nothing reads, in graph order. An input
/// the walk never reaches is not in llama.cpp's graph and is not allocated.
pub(super) fn leaf_order(g: &Graph) -> Vec<Id> {
    let n = g.tensors.len();
    let mut read = vec![false; n];
    for &id in &g.nodes {
        for &s in g.tensors.get(id).map_or(&[][..], |t| &t.srcs) {
            if let Some(r) = read.get_mut(s) {
                *r = true;
            }
        }
    }
    let mut roots = Vec::with_capacity(g.nodes.len() + g.expanded.len());
    let mut marks = g.expanded.iter().peekable();
    for (i, &id) in g.nodes.iter().enumerate() {
        while let Some(&(_, e)) = marks.next_if(|m| m.0 <= i) {
            roots.push(e);
        }
        if !read.get(id).copied().unwrap_or(true) {
            roots.push(id);
        }
    }
    roots.extend(marks.map(|m| m.1));
    let mut visited = vec![false; n];
    let mut order = Vec::new();
    let mut stack: Vec<(Id, usize)> = Vec::new();
    for root in roots {
        if root == EXTERNAL || visited.get(root).copied().unwrap_or(true) {
            continue;
        }
        visited[root] = true;
        stack.push((root, 0));
        while let Some((id, next)) = stack.pop() {
            let srcs = g.tensors.get(id).map_or(&[][..], |t| &t.srcs);
            if let Some(&s) = srcs.get(next) {
                stack.push((id, next + 1));
                if s < n && !visited[s] {
                    visited[s] = true;
                    stack.push((s, 0));
                }
                continue;
            }
            if g.tensors.get(id).is_some_and(|t| t.input) {
                order.push(id);
            }
        }
    }
    order
}
