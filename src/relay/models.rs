//! The models this relay serves: the union of the accounts' catalogues,
//! their exact `models` names and the aliases (see `crate::catalog`). The
//! gateway writes them in the client's protocol.

use super::Relay;
use crate::catalog::{self, ServedModel};

impl Relay {
    /// Every served model, sorted by name, from the routing of the moment.
    pub fn served_models(&self) -> Vec<ServedModel> {
        let routing = self.routing.load();
        catalog::served(&routing.pool, &routing.aliases)
    }

    /// The model a client retrieves by `id`, if it is served.
    pub fn served_model(&self, id: &str) -> Option<ServedModel> {
        let routing = self.routing.load();
        catalog::lookup(&routing.pool, &routing.aliases, id)
    }
}
