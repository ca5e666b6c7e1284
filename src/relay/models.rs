//! The models this relay serves: the union of the accounts' catalogues,
//! their exact `models` names and the aliases (see `crate::catalog`). The
//! gateway writes them in the client's protocol. A client key sees only
//! the models it may use (after aliases).

use super::Relay;
use crate::catalog::{self, ServedModel};
use crate::keys::ClientKey;

impl Relay {
    /// Every served model, sorted by name, from the routing of the moment;
    /// for a client key, those it may use.
    pub fn served_models(&self, key: Option<&ClientKey>) -> Vec<ServedModel> {
        let routing = self.routing.load();
        let mut models = catalog::served(&routing.pool, &routing.aliases);
        if let Some(key) = key {
            models.retain(|model| key.allows_model(&routing.resolve(&model.id)));
        }
        models
    }

    /// The model a client retrieves by `id`, if it is served (and, for a
    /// client key, one it may use).
    pub fn served_model(&self, id: &str, key: Option<&ClientKey>) -> Option<ServedModel> {
        let routing = self.routing.load();
        catalog::lookup(&routing.pool, &routing.aliases, id)
            .filter(|model| key.is_none_or(|key| key.allows_model(&routing.resolve(&model.id))))
    }
}
