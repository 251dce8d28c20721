//! Each model opened once per run: `check`, `plan`, `render` and the budget rules share the
//! header and tensor table of a GGUF instead of re-reading it per profile or per rule.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::{GgufError, Model, ModelFacts};

/// A model's header, tensor table and facts, with the path it was opened from.
#[derive(Debug)]
pub struct LoadedModel {
    pub path: PathBuf,
    pub model: Model,
    pub facts: ModelFacts,
}

impl LoadedModel {
    pub fn open(path: &Path) -> Result<LoadedModel, GgufError> {
        let model = Model::open(path)?;
        let facts = ModelFacts::from_model(&model)?;
        Ok(LoadedModel {
            path: path.to_path_buf(),
            model,
            facts,
        })
    }
}

/// Opened models by path (as given: callers resolve paths one way, so one file is one key).
#[derive(Debug, Default, Clone)]
pub struct ModelCache {
    opened: HashMap<PathBuf, Result<Rc<LoadedModel>, Rc<GgufError>>>,
}

impl ModelCache {
    /// The model at `path`, opened on first use; a failure is remembered too.
    pub fn open(&mut self, path: &Path) -> Result<Rc<LoadedModel>, Rc<GgufError>> {
        self.opened
            .entry(path.to_path_buf())
            .or_insert_with(|| LoadedModel::open(path).map(Rc::new).map_err(Rc::new))
            .clone()
    }

    /// Serves `loaded` for its path from now on (a model read elsewhere: a remote header).
    pub fn insert(&mut self, loaded: LoadedModel) {
        self.opened.insert(loaded.path.clone(), Ok(Rc::new(loaded)));
    }

    /// How many distinct paths were opened (or tried).
    pub fn len(&self) -> usize {
        self.opened.len()
    }

    pub fn is_empty(&self) -> bool {
        self.opened.is_empty()
    }
}
